"""Deliveries are processed a batch at a time (one query takes them, one commit ends them); one that
fails is noted alone and ends its batch: the others become mail_received on the next pass, it waits
pending with why."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select, text, update

from crm.blobs import open_blob_store
from crm.database import DatabaseAccess
from crm.times import utcnow
from services.mailin import processing
from services.mailin.models import PENDING, Delivery, RawMessage, outbox
from services.mailin.store import store_message
from tests.mailin_listener import add_ingest_address


def note(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "claire@pomme-siege-central.fr"
    message["Subject"] = f"Note {number}"
    message["Message-ID"] = f"<note-{number}@pomme-siege-central.fr>"
    message.set_content(f"Note numéro {number}.\n")
    return message.as_bytes()


@pytest.fixture
def others_set_aside(engine):
    """Deliveries that earlier tests of the run left pending would join this test's batches: they
    wait until it is over."""
    with engine.begin() as connection:
        pending = select(Delivery.id, Delivery.next_attempt_at).where(Delivery.status == PENDING)
        waiting = dict(connection.execute(pending).all())
        connection.execute(
            update(Delivery)
            .where(Delivery.id.in_(waiting))
            .values(next_attempt_at=utcnow() + timedelta(days=1))
        )
    yield
    with engine.begin() as connection:
        for delivery_id, next_attempt_at in waiting.items():
            connection.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=next_attempt_at)
            )


def test_a_batch_commits_its_deliveries_together_and_a_failing_one_waits_alone(
    migrated, engine, others_set_aside
):
    blobs = open_blob_store(migrated)
    org_id, user_id = add_ingest_address(engine, "ubatch0000000001")
    raw_ids = [store_message(engine, blobs, note(n), [(org_id, user_id)], source="smtp") for n in range(5)]
    # The stored copy of the third one is gone (a disk replaced without its blobs, say).
    with engine.connect() as connection:
        lost_hash = connection.scalar(select(RawMessage.blob_hash).where(RawMessage.id == raw_ids[2]))
    blobs.path_of(lost_hash).unlink()

    db = DatabaseAccess(engine, None)
    # The first two, then the third fails: noted, and the batch ends there.
    assert processing.process_next(db, blobs, None, batch=10) == 3
    # The two after it; the failed one waits its turn (backing off).
    assert processing.process_next(db, blobs, None, batch=10) == 2
    assert processing.process_next(db, blobs, None, batch=10) == 0

    with engine.connect() as connection:
        ours = select(Delivery).where(Delivery.raw_message_id.in_(raw_ids))
        rows = {r.raw_message_id: r for r in connection.execute(ours).all()}
        subjects = sorted(
            p["record"]["subject"]
            for p in connection.scalars(
                select(outbox.c.payload).where(outbox.c.event_type == "mail_received")
            )
            if p["record"]["delivery_id"] in {row.id for row in rows.values()}
        )
    assert subjects == ["Note 0", "Note 1", "Note 3", "Note 4"]
    failed = rows[raw_ids[2]]
    assert failed.status == "pending" and failed.attempts == 1 and failed.next_attempt_at is not None
    assert "BlobNotFound" in failed.last_error
    assert all(rows[raw_id].status == "processed" for raw_id in raw_ids if raw_id != raw_ids[2])


@pytest.fixture
def a_message_key_refused(engine):
    """The database refuses one message key (as it would what it cannot store) for the test."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a CHECK constraint added for the test: PostgreSQL's ALTER TABLE")
    with engine.begin() as connection:
        connection.execute(
            text(
                "ALTER TABLE ingested ADD CONSTRAINT refused_key "
                "CHECK (message_key <> 'note-12@pomme-siege-central.fr')"
            )
        )
    yield
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE ingested DROP CONSTRAINT refused_key"))


def test_a_delivery_the_database_refuses_is_noted_alone_and_the_ones_before_it_are_processed(
    migrated, engine, others_set_aside, a_message_key_refused
):
    blobs = open_blob_store(migrated)
    org_id, user_id = add_ingest_address(engine, "ubatch0000000002")
    raw_ids = [
        store_message(engine, blobs, note(n), [(org_id, user_id)], source="smtp") for n in range(10, 15)
    ]

    db = DatabaseAccess(engine, None)
    # The batch's writes are refused as a whole: each is written alone, up to the refused one.
    assert processing.process_next(db, blobs, None, batch=10) == 3
    assert processing.process_next(db, blobs, None, batch=10) == 2
    assert processing.process_next(db, blobs, None, batch=10) == 0

    with engine.connect() as connection:
        rows = {
            row.raw_message_id: row
            for row in connection.execute(select(Delivery).where(Delivery.raw_message_id.in_(raw_ids)))
        }
        subjects = sorted(
            payload["record"]["subject"]
            for payload in connection.scalars(
                select(outbox.c.payload).where(outbox.c.event_type == "mail_received")
            )
            if payload["record"]["delivery_id"] in {row.id for row in rows.values()}
        )
    assert subjects == ["Note 10", "Note 11", "Note 13", "Note 14"]
    refused = rows[raw_ids[2]]
    assert refused.status == "pending" and refused.attempts == 1 and "refused_key" in refused.last_error
    assert all(
        rows[raw_id].status == "processed" and rows[raw_id].attempts == 1
        for raw_id in raw_ids
        if raw_id != raw_ids[2]
    )
