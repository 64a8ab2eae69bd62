"""The mailin service on the real broker and database: stored mail becomes ``mail_received``,
once per user and Message-ID, with its files in the blob store."""

from __future__ import annotations

import time
from email.message import EmailMessage

import eventlet
from eventlet.event import Event
from sqlalchemy import select

from crm.blobs import open_blob_store
from crm.database import create_service_engine
from crm.ids import new_id
from crm.times import utcnow
from services.contacts.models import Contact
from services.contacts.service import ContactsService
from services.mailin import checks, linking, service_mailboxes
from services.mailin.models import Delivery, outbox
from services.mailin.service import MailinService
from services.mailin.store import store_message
from tests.mailin_listener import add_ingest_address


class MailinUnderTest(MailinService):
    """The real service, without the start-up load of addresses from accounts (not running here)."""

    def load_ingest_addresses(self) -> None:  # not an entrypoint here
        pass


def add_contact(settings, org_id: str, email: str) -> str:
    """A contact of ``org_id`` with ``email``, as contacts keeps it."""
    engine = create_service_engine(settings, "contacts")
    now, contact_id = utcnow(), new_id()
    with engine.begin() as connection:
        connection.execute(
            Contact.__table__.insert().values(
                id=contact_id,
                org_id=org_id,
                last_name="Martin",
                email=email,
                social={},
                search_text="",
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
    engine.dispose()
    return contact_id


def invoice(message_id: str | None = "<facture-2026-118@pomme-siege-central.fr>") -> bytes:
    message = EmailMessage()
    message["From"] = "Claire Martin <claire@pomme-siege-central.fr>"
    message["To"] = "uclaire@in.crm.test"
    message["Subject"] = "Facture 2026-118"
    message["Date"] = "Fri, 04 Dec 2026 09:30:00 +0100"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Bonjour,\nveuillez trouver la facture.\n")
    message.add_alternative("<p>Bonjour,<br>veuillez trouver la <b>facture</b>.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 facture", maintype="application", subtype="pdf", filename="facture.pdf")
    return message.as_bytes()


def wait_processed(engine, delivery_ids: set[str], timeout: float = 20.0) -> dict[str, Delivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            rows = connection.execute(select(Delivery).where(Delivery.id.in_(delivery_ids))).all()
        if rows and all(row.status == "processed" for row in rows):
            return {row.id: row for row in rows}
        time.sleep(0.2)
    raise AssertionError(f"not processed in {timeout}s: {[(r.id, r.status, r.last_error) for r in rows]}")


def deliveries_of(engine, raw_message_id: str) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Delivery.id).where(Delivery.raw_message_id == raw_message_id)))


def events_for(engine, delivery_ids: set[str]) -> list[dict]:
    with engine.connect() as connection:
        payloads = connection.scalars(select(outbox.c.payload).where(outbox.c.event_type == "mail_received"))
        return [p for p in payloads if p["record"]["delivery_id"] in delivery_ids]


def test_a_stored_message_becomes_mail_received_once_per_user_and_message_id(
    container_factory, migrated, engine
):
    blobs = open_blob_store(migrated)
    org_id, claire = add_ingest_address(engine, "uclaireproc00001")
    _, bruno = add_ingest_address(engine, "ubrunoproc000001", org_id=org_id)
    raw = invoice()
    first = store_message(engine, blobs, raw, [(org_id, claire), (org_id, bruno)], source="smtp")
    # The same mail again for Claire (fetched by IMAP this time): she has it already.
    again = store_message(engine, blobs, invoice(), [(org_id, claire)], source="imap", mailbox_id="mbx-1")
    # No Message-ID: a key is derived from the content.
    bare = store_message(engine, blobs, invoice(message_id=None), [(org_id, claire)], source="smtp")
    ids = {*deliveries_of(engine, first), *deliveries_of(engine, again), *deliveries_of(engine, bare)}

    claire_martin = add_contact(migrated, org_id, "claire@pomme-siege-central.fr")
    container_factory(ContactsService, migrated.nameko_config()).start()
    container = container_factory(MailinUnderTest, migrated.nameko_config())
    container.start()
    processed = wait_processed(engine, ids)

    events = events_for(engine, ids)
    assert len(events) == 3  # Claire twice (two different keys), Bruno once
    # Claire's two copies of one Message-ID (by SMTP, then IMAP): whichever came second is the duplicate.
    duplicates = [row for row in processed.values() if row.duplicate]
    claire_copies = {
        row.id for row in processed.values() if row.user_id == claire and row.raw_message_id in (first, again)
    }
    assert len(duplicates) == 1 and duplicates[0].id in claire_copies
    for event in events:
        assert event["org_id"] == org_id and event["actor_id"] == event["record"]["user_id"]
    record = next(e["record"] for e in events if e["record"]["user_id"] == bruno)
    assert record["message_key"] == "facture-2026-118@pomme-siege-central.fr"
    assert record["subject"] == "Facture 2026-118"
    assert record["sender"] == {"address": "claire@pomme-siege-central.fr", "name": "Claire Martin"}
    assert record["sent_at"] == "2026-12-04T08:30:00+00:00"
    assert "veuillez trouver la facture" in record["text"]
    assert record["source"] == "smtp" and record["problems"] == []
    assert (record["contact_id"], record["company_id"]) == (claire_martin, None)  # the sender's contact
    (attachment,) = record["attachments"]
    assert attachment["name"] == "facture.pdf" and attachment["content_type"] == "application/pdf"
    assert blobs.get(attachment["blob_hash"]) == b"%PDF-1.4 facture"
    assert b"<b>facture</b>" in blobs.get(record["html"]["blob_hash"])
    assert record["raw"]["name"] == "message.eml"
    assert blobs.get(record["raw"]["blob_hash"]) == raw
    derived = next(e["record"] for e in events if e["record"]["delivery_id"] in deliveries_of(engine, bare))
    assert derived["message_key"].startswith("derived-")


def test_while_contacts_is_away_a_mail_waits_pending_with_its_error_and_is_linked_once_it_is_back(
    container_factory, migrated, engine
):
    blobs = open_blob_store(migrated)
    org_id, paul = add_ingest_address(engine, "upaulproc0000001")
    claire_martin = add_contact(migrated, org_id, "claire@pomme-siege-central.fr")
    stored = store_message(
        engine, blobs, invoice("<relance-7@pomme-siege-central.fr>"), [(org_id, paul)], source="smtp"
    )
    ids = set(deliveries_of(engine, stored))
    container_factory(MailinUnderTest, migrated.nameko_config()).start()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            (row,) = connection.execute(select(Delivery).where(Delivery.id.in_(ids))).all()
        if row.attempts:
            break
        time.sleep(0.2)
    assert row.status == "pending" and "contacts" in row.last_error and events_for(engine, ids) == []

    container_factory(ContactsService, migrated.nameko_config()).start()
    wait_processed(engine, ids, timeout=30)
    (event,) = events_for(engine, ids)
    assert event["record"]["contact_id"] == claire_martin


def test_a_killed_mailin_container_leaves_no_delivery_being_processed(
    container_factory, migrated, engine, monkeypatch
):
    """nameko kills the timer's worker, not the threads it started: left running, they went on
    taking deliveries and asking contacts through the killed container's RPC client, whose
    replies nobody heard (each lookup timed out and the delivery backed off, so the mail of the
    tests after it stayed pending)."""
    looking_up, answered, finished = Event(), Event(), []

    def slow_lookup(contacts_rpc, queries):  # contacts answers when the test says so
        if not looking_up.ready():
            looking_up.send()
        answered.wait()
        finished.append(queries[0][0])

    monkeypatch.setattr(linking, "find_contacts", slow_lookup)
    org_id, paul = add_ingest_address(engine, "upaulkill0000001")
    store_message(
        engine,
        open_blob_store(migrated),
        invoice("<relance-8@pomme-siege-central.fr>"),
        [(org_id, paul)],
        source="smtp",
    )
    container = container_factory(MailinUnderTest, migrated.nameko_config())
    container.start()
    with eventlet.Timeout(10):
        looking_up.wait()
    container.kill()
    answered.send()
    eventlet.sleep(0.5)
    assert finished == []  # the lookup went with its container


def test_a_killed_mailin_container_stops_the_mailbox_checks_it_started(
    container_factory, migrated, monkeypatch
):
    """The periodic IMAP check runs its mailboxes in threads of its own: they go with their
    container, as the processing does, rather than go on with its engine after it is killed."""
    checking, released, finished = Event(), Event(), []

    def slow_check(engine, blobs, fernet, mailbox_id, options, limits):  # the server answers when told
        if not checking.ready():
            checking.send()
        released.wait()
        finished.append(mailbox_id)

    monkeypatch.setattr(service_mailboxes, "DUE_POLL_SECONDS", 0.1)
    monkeypatch.setattr(checks, "due_mailboxes", lambda engine, every, stale: ["mailbox-kill-1"])
    monkeypatch.setattr(checks, "check_mailbox", slow_check)
    container = container_factory(MailinUnderTest, migrated.nameko_config())
    container.start()
    with eventlet.Timeout(10):
        checking.wait()
    container.kill()
    released.send()
    eventlet.sleep(0.5)
    assert finished == []  # the check went with its container
