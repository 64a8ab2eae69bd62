"""The SMTP ingest listener, driven by real clients (smtplib, swaks) over a real socket.

Each recipient gets its own answer; 250 means the message is stored (blob and
rows), and a refused message leaves nothing behind.
"""

from __future__ import annotations

import smtplib
import subprocess
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from crm.blobs import open_blob_store
from crm.database import create_service_engine
from services.mailin.models import Delivery, RawMessage
from tests.mailin_listener import INGEST_DOMAIN, ListenerProcess, add_ingest_address, write_config

MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def listener(migrated, tmp_path_factory):
    path, settings = write_config(
        migrated, tmp_path_factory.mktemp("smtp"), max_message_bytes=MAX_BYTES, max_recipients=3
    )
    process = ListenerProcess(path, settings).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def engine(migrated):
    engine = create_service_engine(migrated, "mailin")
    yield engine
    engine.dispose()


def stored_counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        raws = connection.execute(select(func.count()).select_from(RawMessage)).scalar_one()
        deliveries = connection.execute(select(func.count()).select_from(Delivery)).scalar_one()
    return raws, deliveries


def scan(subject: str = "Scan 0042 - Chambre 404") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "scanner@pomme-siege-central.fr"
    message["To"] = "someone"
    message["Subject"] = subject
    message.set_content("Document numérisé.\n")
    message.add_attachment(
        b"%PDF-1.4 scan", maintype="application", subtype="octet-stream", filename="scan.pdf"
    )
    return message


def test_each_recipient_gets_its_own_answer_and_one_copy_is_stored_for_the_users(listener, engine):
    add_ingest_address(engine, "uclaire0000000001")
    add_ingest_address(engine, "ubruno00000000001")
    before = stored_counts(engine)
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        refused = client.send_message(
            scan(),
            from_addr="scanner@pomme-siege-central.fr",
            to_addrs=[
                f"uclaire0000000001@{INGEST_DOMAIN}",
                f"UBRUNO00000000001@{INGEST_DOMAIN.upper()}",
                f"nobody@{INGEST_DOMAIN}",
                "claire@pomme-siege-central.fr",
            ],
        )
    assert refused[f"nobody@{INGEST_DOMAIN}"][0] == 550
    assert refused[f"nobody@{INGEST_DOMAIN}"][1].startswith(b"5.1.1")
    assert refused["claire@pomme-siege-central.fr"][0] == 550
    assert refused["claire@pomme-siege-central.fr"][1].startswith(b"5.7.1")
    assert len(refused) == 2
    raws, deliveries = stored_counts(engine)
    assert (raws - before[0], deliveries - before[1]) == (1, 2)
    with engine.connect() as connection:
        raw = connection.execute(select(RawMessage).order_by(RawMessage.id.desc())).first()
    assert b"Scan 0042" in open_blob_store(listener.settings).get(raw.blob_hash)
    assert raw.source == "smtp" and raw.envelope_from == "scanner@pomme-siege-central.fr"


def test_a_deactivated_users_address_is_refused_like_an_unknown_one(listener, engine):
    add_ingest_address(engine, "uparti00000000001", active=False)
    before = stored_counts(engine)
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(scan(), to_addrs=[f"uparti00000000001@{INGEST_DOMAIN}"])
    (code, text) = refused.value.recipients[f"uparti00000000001@{INGEST_DOMAIN}"]
    assert code == 550 and text.startswith(b"5.1.1")
    assert stored_counts(engine) == before


def test_the_size_limit_is_advertised_and_a_bigger_message_is_refused_with_552(listener, engine):
    add_ingest_address(engine, "ugros000000000001")
    before = stored_counts(engine)
    big = scan()
    big.add_attachment(b"x" * MAX_BYTES, maintype="application", subtype="pdf", filename="big.pdf")
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.ehlo()
        assert int(client.esmtp_features["size"]) == MAX_BYTES
        # Announced with SIZE= (smtplib does it): refused at MAIL FROM.
        with pytest.raises(smtplib.SMTPSenderRefused) as announced:
            client.send_message(big, to_addrs=[f"ugros000000000001@{INGEST_DOMAIN}"])
        assert announced.value.smtp_code == 552
        client.rset()
        # Not announced: refused once the data passed the limit.
        assert client.mail("scanner@pomme-siege-central.fr")[0] == 250
        assert client.rcpt(f"ugros000000000001@{INGEST_DOMAIN}")[0] == 250
        assert client.data(big.as_string())[0] == 552
    assert stored_counts(engine) == before


def test_too_many_recipients_are_deferred_with_452(listener, engine):
    locals_ = [f"unombre{n:010d}" for n in range(4)]
    for local in locals_:
        add_ingest_address(engine, local)
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        refused = client.send_message(scan(), to_addrs=[f"{local}@{INGEST_DOMAIN}" for local in locals_])
    assert refused == {
        f"{locals_[3]}@{INGEST_DOMAIN}": (452, b"4.5.3 Too many recipients: at most 3 per message")
    }


def swaks(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["swaks", *arguments], capture_output=True, text=True, timeout=30)


def test_swaks_delivers_a_scan_and_is_told_550_for_an_unknown_address(listener, engine):
    add_ingest_address(engine, "uswaks00000000001")
    before = stored_counts(engine)
    server = f"127.0.0.1:{listener.port}"
    sent = swaks(
        "--server", server, "--from", "scanner@pomme-siege-central.fr",
        "--to", f"uswaks00000000001@{INGEST_DOMAIN}",
        "--header", "Subject: Scan Chambre 404", "--attach", "-", "--attach-type", "application/pdf",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout
    assert "<-  250 2.0.0 OK stored" in sent.stdout
    unknown = swaks("--server", server, "--to", f"personne@{INGEST_DOMAIN}")
    assert "<** 550 5.1.1" in unknown.stdout
    assert unknown.returncode == 24  # swaks: no recipient accepted
    relay = swaks("--server", server, "--to", "quelquun@example.org")
    assert "<** 550 5.7.1" in relay.stdout
    assert stored_counts(engine) == (before[0] + 1, before[1] + 1)


def test_the_stored_message_is_the_one_sent_byte_for_byte_dot_lines_included(listener, engine):
    # smtplib doubles a line's first dot and ends the data with a dot line; the listener must undo
    # the first and stop at the second, in one packet or many, and the next message follows on.
    add_ingest_address(engine, "udots000000000001")
    lines = [b"From: Claire <claire@pomme-siege-central.fr>", b"Subject: Points", b""]
    lines += [b".", b"..", b".. next", b"Regards.", b"", b"x" * 3000, b"." * 900, b"end."]
    sent = b"\r\n".join(lines) + b"\r\n"
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        for _ in range(2):
            client.sendmail("claire@pomme-siege-central.fr", [f"udots000000000001@{INGEST_DOMAIN}"], sent)
    with engine.connect() as connection:
        raws = connection.execute(select(RawMessage).order_by(RawMessage.id.desc()).limit(2)).all()
    blobs = open_blob_store(listener.settings)
    assert [blobs.get(raw.blob_hash) for raw in raws] == [sent, sent]
