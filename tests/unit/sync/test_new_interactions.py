"""Interactions new to the replica written together (``feed_groups.apply_new_interactions``, what sync
does with the pending e-mails of a group) leave the replica as ``apply_interaction`` one by one
does: the phones' next pulls answer the same, and those the replica knew something of before
their creation go the one-by-one way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from crm.database import create_service_engine, is_postgresql
from crm.migrations import upgrade
from crm.settings import Settings
from services.sync import feed, feed_groups, pull
from services.sync import records as r
from services.sync.models import Base, ChangeCounter, InteractionPerson, ReplicaLink, ReplicaRecord
from services.sync.scope import Windows

POMME, ALICE, BRUNO, CLAIRE = "org-pomme", "user-alice", "user-bruno", "user-claire"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


NAMES = ("one_by_one", "together")


def _sqlite(tmp_path: Path, name: str) -> Session:
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path / name), "database": {"url": f"sqlite:///{tmp_path}/{name}-{{service}}.db"}}
    )
    upgrade(settings, "sync")
    return Session(create_service_engine(settings, "sync"))


def _schema(settings: Settings, name: str, make: bool) -> Session | None:
    """sync's tables in a PostgreSQL schema of their own, made afresh (or dropped)."""
    schema = f"sync_new_{name}"
    engine = create_service_engine(settings, schema)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if make:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    if not make:
        engine.dispose()
        return None
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(ChangeCounter.__table__.insert().values(id=feed.COUNTER_ID, seq=0))
    return Session(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def replicas(request, tmp_path: Path, settings: Settings):
    """Two replicas with the same past: the one-by-one way's and the together way's (on SQLite,
    and on PostgreSQL when the tests have one: its reads are its own, ``_KNOWN``)."""
    on_postgresql = request.param == "postgresql"
    if on_postgresql and not is_postgresql(settings.database_url("sync")):
        pytest.skip("PostgreSQL's own statements")
    if on_postgresql:
        sessions = [_schema(settings, name, make=True) for name in NAMES]
    else:
        sessions = [_sqlite(tmp_path, name) for name in NAMES]
    for session in sessions:
        _past(session)
    yield sessions
    for session in sessions:
        session.close()
        session.get_bind().dispose()
    if on_postgresql:
        for name in NAMES:
            _schema(settings, name, make=False)


def _interaction(interaction_id: str, owner: str | None = ALICE, **fields) -> dict:
    return {
        "id": interaction_id,
        "subject": f"Courrier {interaction_id}",
        "type": "pending_email",
        "status": "to_process",
        "start_at": (NOW + timedelta(hours=1)).isoformat(),
        "end_at": None,
        "all_day": False,
        "owner_id": owner,
        "description": "Bonjour, voici le devis.",
        "contact_ids": [],
        "company_ids": [],
        "participants": [],
        "documents": [],
        "version": 1,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        **fields,
    }


def _document(document_id: str, interaction_id: str) -> dict:
    return {
        "id": document_id,
        "interaction_id": interaction_id,
        "name": f"{document_id}.pdf",
        "document_type": "email_attachment",
        "content_type": "application/pdf",
        "size": 1234,
        "created_at": NOW.isoformat(),
    }


def _contact(contact_id: str, company_id: str) -> dict:
    employment = {"id": f"e-{contact_id}", "contact_id": contact_id, "company_id": company_id, "version": 1}
    return {
        "id": contact_id,
        "first_name": "Jeanne",
        "last_name": "Dupont",
        "employments": [employment],
        "version": 1,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def _past(session: Session) -> None:
    """A contact and its company, what arrived of some interactions before their creation, and
    each phone's first pull (their scopes computed: only a stamp makes them computed again)."""
    steps = [
        lambda f: feed.apply_company(f, {"id": "boulangerie", "name": "Boulangerie", "version": 1}, False),
        lambda f: feed.apply_contact(f, _contact("jeanne", "boulangerie"), False),
        # an invitation before its interaction's creation
        lambda f: feed.apply_participant(
            f,
            {
                "interaction": {"id": "invited-first", "owner_id": ALICE, "start_at": NOW.isoformat()},
                "participant": {"user_id": BRUNO, "status": "invited", "invited_at": NOW.isoformat()},
            },
            False,
        ),
        # a document added before its interaction's creation
        lambda f: feed.apply_document(f, _document("early-scan", "document-first")),
        # Claire opened one on the web before sync had it
        lambda f: feed.apply_touch(f, CLAIRE, r.INTERACTIONS, "viewed-first", NOW),
    ]
    for step in steps:
        step(feed.Feed(session, POMME))
        session.commit()
    session.info["pulled"] = {}
    for user in (ALICE, BRUNO, CLAIRE):
        _body, session.info["pulled"][user], _count = pull.pull(session, POMME, user, NOW, Windows(), None)
        session.commit()


def _created() -> list[dict]:
    return [
        _interaction(
            "scan-with-links",
            contact_ids=["jeanne"],
            company_ids=["boulangerie"],
            documents=[_document("scan-1", "scan-with-links"), _document("scan-1-eml", "scan-with-links")],
        ),
        _interaction("plain"),
        _interaction("of-bruno", owner=BRUNO, documents=[_document("scan-2", "of-bruno")]),
        _interaction("no-owner", owner=None),
        _interaction("viewed-first"),
        _interaction("invited-first"),
        _interaction("document-first", documents=[_document("late-scan", "document-first")]),
        _interaction(
            "with-participant",
            participants=[{"user_id": CLAIRE, "status": "invited", "invited_at": NOW.isoformat()}],
        ),
        _interaction("plain"),  # delivered twice in the group
    ]


def _state(session: Session) -> dict:
    """What the replica holds (sequences aside) and what each phone's next pull answers."""
    records = {
        (row.table_name, row.record_id): (row.version, row.deleted, json.loads(row.raw))
        for row in session.scalars(select(ReplicaRecord))
    }
    links = {
        (link.from_table, link.from_id, link.to_table, link.to_id)
        for link in session.scalars(select(ReplicaLink))
    }
    people = {(p.interaction_id, p.user_id, p.start_at) for p in session.scalars(select(InteractionPerson))}
    pulls = {}
    for user in (ALICE, BRUNO, CLAIRE):
        since = session.info["pulled"][user]
        body, _timestamp, _count = pull.pull(session, POMME, user, NOW, Windows(), since)
        changes = json.loads(body)["changes"]
        pulls[user] = {
            table: {
                kind: sorted(json.dumps(item, sort_keys=True) for item in items)
                for kind, items in kinds.items()
            }
            for table, kinds in changes.items()
        }
    session.commit()
    return {"records": records, "links": links, "people": people, "pulls": pulls}


def _apply_both_ways(replicas, created: list[dict]) -> tuple[dict, dict, list[str]]:
    one_by_one, together = replicas
    for record in created:
        feed.apply_interaction(feed.Feed(one_by_one, POMME), record)
    one_by_one.commit()
    stamp = feed.Stamp(together)
    written = feed_groups.apply_new_interactions(together, stamp, [(POMME, record) for record in created])
    for record, done in zip(created, written, strict=True):
        if not done:
            feed.apply_interaction(feed.Feed(together, POMME, stamp), record)
    together.commit()
    ids = [record["id"] for record, done in zip(created, written, strict=True) if done]
    return _state(one_by_one), _state(together), ids


def test_interactions_written_together_leave_the_replica_as_one_by_one(replicas):
    expected, found, written = _apply_both_ways(replicas, _created())
    # what arrived before the creation, participants, the second delivery: one by one
    assert written == ["scan-with-links", "plain", "of-bruno", "no-owner", "viewed-first"]
    assert found == expected


def test_only_new_interactions_reach_the_phones_as_one_by_one(replicas):
    # no event of the group goes one by one: the stamps of the new ones alone make the scopes
    # computed again
    created = [record for record in _created()[:5]]
    expected, found, written = _apply_both_ways(replicas, created)
    assert len(written) == 5
    assert found == expected
    assert "viewed-first" in json.dumps(found["pulls"][CLAIRE]["interactions"])
    assert "scan-with-links" in json.dumps(found["pulls"][ALICE]["interactions"])
    assert "scan-2" in json.dumps(found["pulls"][BRUNO]["documents"])


def test_nothing_new_to_write_takes_no_sequence(replicas):
    _one_by_one, together = replicas
    stamp = feed.Stamp(together)
    assert feed_groups.apply_new_interactions(together, stamp, []) == []
    with_participant = _interaction("x", participants=[{"user_id": BRUNO, "status": "invited"}])
    assert feed_groups.apply_new_interactions(together, stamp, [(POMME, with_participant)]) == [False]
    assert stamp._seq is None
