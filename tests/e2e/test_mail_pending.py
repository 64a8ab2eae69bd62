"""A mail sent to a user's ingest address becomes their pending e-mail interaction, over HTTP:
linked to the sender's contact and company (a forward's original sender's), with its attachments
and the raw message as documents, once per Message-ID; a damaged mail still arrives, with a note."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from tests.e2e.conftest import create_user, unique

pytestmark = pytest.mark.e2e

V1 = "/api/v1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def send(system, address: str, raw: bytes, sender: str = "scanner@pomme.fr") -> None:
    """Hands ``raw`` to the listener as it is (CRLF line ends), answered 250."""
    with smtplib.SMTP("127.0.0.1", system.settings.mailin.smtp_port, timeout=10) as client:
        assert client.sendmail(sender, [address], raw) == {}


def phone_documents_of(api, interaction_id: str, seconds: float = 30.0) -> list[dict]:
    """The documents of ``interaction_id`` a first sync of a phone of the user brings, once it has any."""
    deadline = time.monotonic() + seconds
    while True:
        response = api.get(
            f"{V1}/sync/pull", params={"last_pulled_at": "null"}, headers={"X-Device-Id": "phone-mail-1"}
        )
        assert response.status_code == 200, response.text
        documents = response.json()["changes"].get("documents", {}).get("created", [])
        found = [document for document in documents if document["interaction_id"] == interaction_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def pending_with(api, subject: str, seconds: float = 30.0) -> list[dict]:
    """The user's pending e-mails with ``subject``, once there is at least one (or the deadline passed)."""
    deadline = time.monotonic() + seconds
    while True:
        items = api.get(f"{V1}/interactions", params={"type": "pending_email", "limit": 100}).json()["items"]
        found = [item for item in items if item["subject"] == subject]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def documents_of(api, interaction_id: str) -> dict[str, dict]:
    response = api.get(f"{V1}/interactions/{interaction_id}/documents")
    assert response.status_code == 200, response.text
    return {document["name"]: document for document in response.json()["documents"]}


def download(api, document: dict):
    response = api.get(f"{V1}/documents/{document['id']}/content")
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def bruno(system, org):
    """A user of a fresh organisation, logged in, with the ingest address the API shows."""
    user = create_user(org["admin"])
    api = system.login(user["email"])
    api.ingest_address = api.get(f"{V1}/me/secrets").json()["ingest_address"]
    api.user_id = user["id"]
    return api


def contact_at_company(api, email: str, company: str = "Pomme Siège Central") -> tuple[str, str]:
    company_id = api.post(f"{V1}/companies", json={"name": company}).json()["id"]
    response = api.post(
        f"{V1}/contacts",
        json={
            "first_name": "Jeanne",
            "last_name": "Dupont",
            "email": email,
            "employments": [{"company_id": company_id}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], company_id


def invoice(sender: str, to: str, subject: str, message_id: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Jeanne Dupont <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Fri, 04 Dec 2026 09:30:00 +0100"
    message["Message-ID"] = message_id
    message.set_content("Bonjour,\nvoici la facture 118.\n")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="facture-118.pdf")
    return message.as_bytes()


def test_a_mail_from_a_contact_is_their_pending_email_with_the_pdf_and_eml_once_per_message_id(system, bruno):
    sender = f"{unique('jeanne')}@pomme-siege.fr"
    jeanne, siege = contact_at_company(bruno, sender)
    subject = f"Facture 118 {unique('s')}"
    raw = invoice(sender, bruno.ingest_address, subject, f"<{unique('facture')}@pomme-siege.fr>")

    send(system, bruno.ingest_address, raw, sender)
    [pending] = pending_with(bruno, subject)

    assert (pending["type"], pending["status"], pending["owner_id"]) == (
        "pending_email",
        "to_process",
        bruno.user_id,
    )
    assert (pending["contact_ids"], pending["company_ids"]) == ([jeanne], [siege])
    assert pending["start_at"] == "2026-12-04T08:30:00+00:00"
    assert pending["description"].startswith(f"From: Jeanne Dupont <{sender}>")
    assert "voici la facture 118" in pending["description"]
    documents = documents_of(bruno, pending["id"])
    assert set(documents) == {"facture-118.pdf", "message.eml"}
    pdf = download(bruno, documents["facture-118.pdf"])
    assert (pdf.content, pdf.headers["Content-Type"]) == (PDF, "application/pdf")
    eml = download(bruno, documents["message.eml"])
    assert (eml.content, eml.headers["Content-Type"]) == (raw, "message/rfc822")
    assert "message.eml" in eml.headers["Content-Disposition"]
    assert bruno.get(f"{V1}/interactions/{pending['id']}/notes").json()["notes"] == []
    # Bruno's phone gets it with its documents (they travel in the interaction's own event).
    on_phone = phone_documents_of(bruno, pending["id"])
    assert {document["name"] for document in on_phone} == {"facture-118.pdf", "message.eml"}

    # The same Message-ID again (sent twice by a laptop back online): nothing new. A later mail
    # shows processing went past it.
    send(system, bruno.ingest_address, raw, sender)
    later = f"Relance {unique('s')}"
    send(
        system,
        bruno.ingest_address,
        invoice(sender, bruno.ingest_address, later, f"<{unique('r')}@pomme.fr>"),
    )
    assert len(pending_with(bruno, later)) == 1
    assert len(pending_with(bruno, subject)) == 1


def test_a_forwarded_mail_is_linked_to_the_original_senders_contact_not_the_forwarder(system, bruno):
    jean, siege = contact_at_company(bruno, "jean.dupont@pomme.fr")
    paul = bruno.post(
        f"{V1}/contacts", json={"last_name": "Martin", "email": "paul.martin.crm@gmail.com"}
    ).json()
    raw = (FIXTURES / "gmail_forward_en.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    send(system, bruno.ingest_address, raw, "paul.martin.crm@gmail.com")
    [pending] = pending_with(bruno, "Fwd: Quote for Room 404")

    assert (pending["contact_ids"], pending["company_ids"]) == ([jean], [siege])
    assert paul["id"] not in pending["contact_ids"]
    assert "Originally from: Jean Dupont <jean.dupont@pomme.fr>" in pending["description"]


def test_a_truncated_multipart_still_arrives_with_its_eml_and_a_note_naming_the_problem(system, bruno):
    subject = f"Scan {unique('s')}"
    raw = (
        f"From: scanner@pomme.fr\r\nTo: {bruno.ingest_address}\r\nSubject: {subject}\r\n"
        "Message-ID: <" + unique("scan") + "@scanner.pomme.fr>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        "--XYZ\r\nContent-Type: text/plain\r\n\r\nNumérisation.\r\n"
        "--XYZ\r\nContent-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "JVBERi0xLjQKJcfs\r\n"
    ).encode()

    send(system, bruno.ingest_address, raw)
    [pending] = pending_with(bruno, subject)

    eml = download(bruno, documents_of(bruno, pending["id"])["message.eml"])
    assert eml.content == raw
    [note] = bruno.get(f"{V1}/interactions/{pending['id']}/notes").json()["notes"]
    assert "it may be cut short" in note["text"]
