"""Malformed mail through the real doors: smtplib to the SMTP listener process, then the mailin
service: every message of the corpus (tests/mailin_malformed.py) is answered 250, stored as sent,
and becomes ``mail_received`` for its user with its problems listed; none is left pending."""

from __future__ import annotations

import smtplib

from crm.blobs import open_blob_store
from services.contacts.service import ContactsService
from tests.mailin_listener import INGEST_DOMAIN, add_ingest_address
from tests.mailin_malformed import CORPUS
from tests.service.test_mailin_processing import MailinUnderTest, deliveries_of, events_for, wait_processed


def send(port: int, recipient: str, raw: bytes) -> str:
    """MAIL, RCPT, DATA with the bytes as they are; the raw message id from the 250."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("scanner.pomme-siege-central.fr")
        assert client.mail("claire@pomme-siege-central.fr")[0] == 250
        assert client.rcpt(recipient)[0] == 250
        code, reply = client.data(raw)
    assert code == 250, reply
    return reply.decode().split("stored ", 1)[1].split()[0]


def test_every_malformed_mail_sent_by_smtp_becomes_mail_received_with_its_problems(
    container_factory, migrated, engine, listener
):
    org_id, user_id = add_ingest_address(engine, "umalformed000001")
    blobs = open_blob_store(migrated)
    sent = {name: make() for name, make in CORPUS.items()}
    raw_ids = {
        name: send(listener.port, f"umalformed000001@{INGEST_DOMAIN}", raw) for name, raw in sent.items()
    }
    deliveries = {name: deliveries_of(engine, raw_id) for name, raw_id in raw_ids.items()}

    # contacts answers the sender lookup (nobody is found: no links).
    container_factory(ContactsService, migrated.nameko_config()).start()
    container = container_factory(MailinUnderTest, migrated.nameko_config())
    container.start()
    ids = {delivery for found in deliveries.values() for delivery in found}
    processed = wait_processed(engine, ids, timeout=120)

    assert not any(row.duplicate for row in processed.values())
    records = {event["record"]["delivery_id"]: event["record"] for event in events_for(engine, ids)}
    for name, raw in sent.items():
        (delivery_id,) = deliveries[name]
        record = records[delivery_id]
        assert record["user_id"] == user_id
        assert record["problems"], name
        assert record["sender"]["address"].endswith("@pomme-siege-central.fr"), name
        # Stored as sent (smtplib ends a message that does not end a line with one).
        stored = blobs.get(record["raw"]["blob_hash"])
        assert stored.removesuffix(b"\r\n") == raw.removesuffix(b"\r\n"), name

    by_name = {name: records[deliveries[name][0]] for name in CORPUS}
    assert by_name["truncated multipart"]["attachments"][0]["name"] == "devis.pdf"
    assert "read as Windows-1252" in by_name["wrong charsets"]["problems"][0]
    assert "Le texte." in by_name["missing boundary parameter"]["text"]
    assert by_name["8-bit headers"]["sender"]["name"] == "Hélène Gérard"
    assert len(by_name["1,000 parts"]["attachments"]) == 998
    assert len(by_name["10 MB line"]["text"]) == 1_000_000
    assert by_name["10 MB header"]["subject"] == "Un en-tête énorme"
