"""sync applies the events that arrive together in few transactions (``crm.group_apply``), on
the running service with the real broker and database: every event is in the replica once,
under the sequence of the transaction that applied it; one event its handler cannot apply
fails alone, and the others of its group are applied."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.ids import new_id
from crm.inbox import _processed
from crm.outbox import new_event
from services.sync import records as r
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord
from services.sync.service import SyncService
from tests.broker import publish_events
from tests.people import ALICE, BOB, POMME

START = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


class SyncUnderTest(SyncService):
    """The real service; Pomme's users and types are taken as known (no accounts here)."""

    known_orgs = {POMME}


@pytest.fixture
def sync(container_factory, migrated):
    container = container_factory(SyncUnderTest, migrated.nameko_config())
    container.start()
    return container


def interaction_created(number: int) -> dict:
    """``interaction_created`` as interactions emits it for a pending e-mail."""
    at = (START + timedelta(minutes=number)).isoformat()
    interaction_id = new_id()
    documents = [
        {"id": new_id(), "interaction_id": interaction_id, "name": name, "created_at": at}
        for name in ("message.html", "message.eml")
    ]
    record = {
        "id": interaction_id,
        "subject": f"Scan {number}",
        "type": "pending_email",
        "status": "open",
        "start_at": at,
        "end_at": None,
        "all_day": False,
        "budget": None,
        "owner_id": BOB.user_id,
        "project_id": None,
        "description": "Scanned document",
        "contact_ids": [],
        "company_ids": [],
        "participants": [],
        "resource_ids": [],
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "deleted_at": None,
        "documents": documents,
    }
    return new_event("interaction_created", org_id=POMME, actor_id=None, record=record)


def publish_all(amqp_uri: str, events: list[dict]) -> None:
    publish_events(amqp_uri, "interactions", events)


def replica_interactions(sync_engine, ids: set[str], timeout: float) -> dict[str, int]:
    """Interaction id -> its sequence, of those of ``ids`` the replica holds, once it holds them
    all (or the time is up)."""
    query = select(ReplicaRecord.record_id, ReplicaRecord.seq).where(
        ReplicaRecord.org_id == POMME,
        ReplicaRecord.table_name == r.INTERACTIONS,
        ReplicaRecord.record_id.in_(ids),
    )
    deadline = time.monotonic() + timeout
    while True:
        with sync_engine.connect() as connection:
            held = dict(connection.execute(query).all())
        if len(held) >= len(ids) or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


def consumed(sync_engine, event_ids: list[str]) -> int:
    """How many of the events sync recorded as applied (its inbox)."""
    query = select(func.count()).where(
        _processed.c.event_id.in_(event_ids), _processed.c.consumer == "sync.interaction_created"
    )
    with sync_engine.connect() as connection:
        return connection.execute(query).scalar()


def test_events_arriving_together_share_transactions_and_each_is_applied_once(sync, migrated, sync_engine):
    events = [interaction_created(number) for number in range(120)]
    publish_all(migrated.amqp_uri, [*events, events[7], events[60]])  # two delivered twice
    ids = {event["record"]["id"] for event in events}
    held = replica_interactions(sync_engine, ids, timeout=30)
    assert set(held) == ids
    # 120 events a few milliseconds apart: a handful of transactions, not one each
    assert len(set(held.values())) <= 20
    assert consumed(sync_engine, [event["event_id"] for event in events]) == len(events)
    # each with its two documents, linked, and on its owner's phone
    documents = {document["id"] for event in events for document in event["record"]["documents"]}
    with sync_engine.connect() as connection:
        held_documents = connection.execute(
            select(func.count()).where(
                ReplicaRecord.table_name == r.DOCUMENTS, ReplicaRecord.record_id.in_(documents)
            )
        ).scalar()
        linked = connection.execute(
            select(func.count()).where(ReplicaLink.from_id.in_(ids), ReplicaLink.to_table == r.DOCUMENTS)
        ).scalar()
        owners = connection.execute(
            select(InteractionPerson.interaction_id).where(InteractionPerson.user_id == BOB.user_id)
        ).scalars()
        assert (held_documents, linked) == (240, 240)
        assert ids <= set(owners)


def test_an_event_that_cannot_be_applied_fails_alone(sync, migrated, sync_engine):
    events = [interaction_created(number) for number in range(40)]
    broken = interaction_created(99)
    del broken["record"]["start_at"]  # its handler raises once the record is in the replica
    publish_all(migrated.amqp_uri, [*events[:20], broken, *events[20:]])
    ids = {event["record"]["id"] for event in events}
    assert set(replica_interactions(sync_engine, ids, timeout=30)) == ids
    # its group undone and applied again item by item: it is not in the replica, half-written
    time.sleep(0.5)
    assert replica_interactions(sync_engine, {broken["record"]["id"]}, timeout=0) == {}
    assert consumed(sync_engine, [broken["event_id"]]) == 0


def test_what_arrived_before_its_interaction_is_kept_when_the_group_brings_it(sync, migrated, sync_engine):
    events = [interaction_created(number) for number in range(30)]
    with_document, with_invitation = events[5]["record"], events[17]["record"]
    at = with_invitation["start_at"]
    early = [
        new_event(
            "interaction_document_added",
            org_id=POMME,
            actor_id=BOB.user_id,
            record={
                "id": new_id(),
                "interaction_id": with_document["id"],
                "name": "devis.pdf",
                "created_at": at,
            },
        ),
        new_event(
            "participant_invited",
            org_id=POMME,
            actor_id=BOB.user_id,
            record={
                "interaction": {"id": with_invitation["id"], "owner_id": BOB.user_id, "start_at": at},
                "participant": {"user_id": ALICE.user_id, "status": "invited", "invited_at": at},
            },
        ),
    ]
    publish_all(migrated.amqp_uri, early)
    early_document = early[0]["record"]["id"]
    deadline = time.monotonic() + 30
    invitation = r.participant_id(with_invitation["id"], ALICE.user_id)
    while not (_held(sync_engine, early_document) and _held(sync_engine, invitation)):
        assert time.monotonic() < deadline, "the early events were not applied"
        time.sleep(0.1)
    publish_all(migrated.amqp_uri, events)
    ids = {event["record"]["id"] for event in events}
    held = replica_interactions(sync_engine, ids, timeout=30)
    assert set(held) == ids
    with sync_engine.connect() as connection:
        documents = connection.execute(
            select(ReplicaLink.to_id).where(
                ReplicaLink.from_id == with_document["id"], ReplicaLink.to_table == r.DOCUMENTS
            )
        ).scalars()
        assert set(documents) == {early_document, *(d["id"] for d in with_document["documents"])}
        people = connection.execute(
            select(InteractionPerson.user_id).where(InteractionPerson.interaction_id == with_invitation["id"])
        ).scalars()
        assert set(people) == {BOB.user_id, ALICE.user_id}


def _held(sync_engine, document_id: str) -> bool:
    with sync_engine.connect() as connection:
        query = select(ReplicaRecord.record_id).where(ReplicaRecord.record_id == document_id)
        return connection.execute(query).first() is not None
