"""A pending e-mail on PostgreSQL: written with its event's inbox row in one insert, once per event
and once per user and message key, the organisation's first one seeding its interaction types."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import text

from crm.database import DatabaseAccess, create_service_engine, is_postgresql
from crm.outbox import new_event
from services.interactions import pending_email


@pytest.fixture
def interactions_db(migrated):
    if not is_postgresql(migrated.database.url):
        pytest.skip("the one-statement write is PostgreSQL's (TEST_DATABASE_URL)")
    engine = create_service_engine(migrated, "interactions")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


def mail_received(org_id: str, user_id: str, message_key: str) -> dict:
    raw = b"From: Jeanne Dupont <jeanne@pomme-siege.fr>\r\nSubject: Facture 118\r\n\r\nBonjour\r\n"
    record = {
        "user_id": user_id,
        "message_key": message_key,
        "subject": "Facture 118",
        "sender": {"address": "jeanne@pomme-siege.fr", "name": "Jeanne Dupont"},
        "received_at": "2026-12-04T08:31:00+00:00",
        "text": "Bonjour, voici la facture.",
        "raw": {"blob_hash": hashlib.sha256(raw).hexdigest(), "size": len(raw)},
    }
    return new_event("mail_received", org_id=org_id, actor_id=None, record=record)


def counts(db: DatabaseAccess, org_id: str) -> tuple[int, int, int]:
    with db.engine.connect() as connection:
        interactions = connection.execute(
            text("SELECT count(*) FROM interactions WHERE org_id = :org"), {"org": org_id}
        ).scalar_one()
        documents = connection.execute(
            text("SELECT count(*) FROM documents WHERE org_id = :org"), {"org": org_id}
        ).scalar_one()
        events = connection.execute(
            text("SELECT count(*) FROM outbox WHERE payload->>'org_id' = :org"), {"org": org_id}
        ).scalar_one()
    return interactions, documents, events


def test_each_mail_is_one_interaction_with_its_event_however_often_it_is_delivered(interactions_db):
    org_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = mail_received(org_id, user_id, "<facture-118@pomme-siege.fr>")

    # The organisation's first pending e-mail: its types are seeded on the way (a transaction).
    made = pending_email.receive(interactions_db, first)
    assert made["type"] == "pending_email" and made["owner_id"] == user_id
    assert counts(interactions_db, org_id) == (1, 1, 1)

    assert pending_email.receive(interactions_db, first) is None  # redelivered
    again = mail_received(org_id, user_id, "<facture-118@pomme-siege.fr>")  # sent again
    assert pending_email.receive(interactions_db, again) is None
    assert counts(interactions_db, org_id) == (1, 1, 1)

    # The next ones are a read and one insert (types seeded): the same promises.
    second = mail_received(org_id, user_id, "<devis-7@pomme-siege.fr>")
    assert pending_email.receive(interactions_db, second)["subject"] == "Facture 118"
    assert pending_email.receive(interactions_db, second) is None
    assert pending_email.receive(interactions_db, again) is None
    assert counts(interactions_db, org_id) == (2, 2, 2)
    with interactions_db.engine.connect() as connection:
        applied = connection.execute(
            text("SELECT count(*) FROM processed_events WHERE event_id IN (:a, :b) AND consumer = :c"),
            {"a": first["event_id"], "b": second["event_id"], "c": pending_email.CONSUMER},
        ).scalar_one()
    assert applied == 2
