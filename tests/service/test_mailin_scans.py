"""Scans sent to the listener process as office scanners send them (tests/fixtures/mail/scans/):
each becomes ``mail_received`` whose attachment is the scanned file, byte for byte, with its name
and its real type (a PDF or a multi-page TIFF, even declared application/octet-stream)."""

from __future__ import annotations

import smtplib

from crm.blobs import open_blob_store
from services.contacts.service import ContactsService
from tests.mailin_listener import INGEST_DOMAIN, add_ingest_address
from tests.service.test_mailin_processing import MailinUnderTest, deliveries_of, events_for, wait_processed
from tests.unit.mailin.parsing.test_scans import CASES, SCANS


def test_scans_sent_by_smtp_become_mail_received_with_the_scanned_file(
    container_factory, migrated, engine, listener
):
    org_id, user_id = add_ingest_address(engine, "uscans0000000001")
    blobs = open_blob_store(migrated)
    raw_ids = {}
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        for file, *_ in CASES:
            client.ehlo("mfp.pomme.local")
            assert client.mail("scanner@pomme-siege-central.fr")[0] == 250
            assert client.rcpt(f"uscans0000000001@{INGEST_DOMAIN}")[0] == 250
            code, reply = client.data((SCANS / file).read_bytes())
            assert code == 250, reply
            raw_ids[file] = reply.decode().split("stored ", 1)[1].split()[0]
    deliveries = {file: deliveries_of(engine, raw_id)[0] for file, raw_id in raw_ids.items()}

    # contacts answers the sender lookup (nobody is found: no links).
    container_factory(ContactsService, migrated.nameko_config()).start()
    container = container_factory(MailinUnderTest, migrated.nameko_config())
    container.start()
    processed = wait_processed(engine, set(deliveries.values()))

    assert not any(row.duplicate for row in processed.values())
    records = {e["record"]["delivery_id"]: e["record"] for e in events_for(engine, set(deliveries.values()))}
    for file, subject, name, content_type, data, text, sent_at in CASES:
        record = records[deliveries[file]]
        assert record["user_id"] == user_id
        assert record["subject"] == subject
        assert record["sender"]["address"] == "scanner@pomme-siege-central.fr"
        assert record["sent_at"] == (sent_at.isoformat() if sent_at else None)
        assert record["text"] == text
        assert record["problems"] == []
        (attachment,) = record["attachments"]
        assert (attachment["name"], attachment["content_type"]) == (name, content_type)
        assert attachment["size"] == len(data) and not attachment["inline"]
        assert blobs.get(attachment["blob_hash"]) == data
    # No Message-ID (Canon, Ricoh, Brother): a key derived from the content.
    assert records[deliveries["ricoh_tiff.eml"]]["message_key"].startswith("derived-")
    assert records[deliveries["hp_octet_pdf.eml"]]["message_key"] == "1733302967.0001@NPI3F2A1B.pomme.local"
