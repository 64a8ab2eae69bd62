"""The calendar feed's queries keep their plans on PostgreSQL tables that were never analysed
(autovacuum off, as on CI: the replica a test run fills has no statistics). Without them the
planner takes a join of the user's interactions to the replica for one row each side and may
scan all of the organisation's interactions or links for each of the user's (1.3 s for a
two-event feed once; 1.5 s to apply an interaction's event among 12,000). Every scan of the
replica repeated per row must look up its key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.database import create_service_engine, is_postgresql
from services.sync import calendar_records, calendar_state, feed
from services.sync import records as r
from services.sync.models import Base, ChangeCounter, InteractionPerson, ReplicaLink, ReplicaRecord
from tests.unit.sync.test_calendar import ALICE, BRUNO, CHLOE, NOW, POMME, _interaction, _participant

SCHEMA = "sync_unanalysed"
WINDOW = calendar_records.FeedWindow()
# What a scan repeated for each row of another must look up, by table.
KEYS = {
    "replica_records": "record_id",
    "replica_links": ("from_id", "to_id"),
    "interaction_people": "interaction_id",
}


@pytest.fixture
def engine(settings) -> Iterator[Engine]:
    """sync's tables in a schema of their own, made afresh: never analysed."""
    if not is_postgresql(settings.database_url("sync")):
        pytest.skip("query plans are PostgreSQL's")
    engine = create_service_engine(settings, SCHEMA)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    Base.metadata.create_all(engine)
    yield engine
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    engine.dispose()


def _seed(session: Session) -> None:
    """1,500 interactions of Alice's with Bruno and Chloé invited, one in three at a company,
    and 3,000 of Bruno's with Chloé: the replica's rows as the feed writes them."""
    records: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []

    def record(table: str, raw: dict[str, Any]) -> None:
        text_ = json.dumps(raw, separators=(",", ":"), sort_keys=True)
        row = {"org_id": POMME, "table_name": table, "record_id": raw["id"], "raw": text_}
        records.append({**row, "seq": len(records) + 1, "version": 1, "deleted": False})

    def link(interaction_id: str, table: str, to_id: str) -> None:
        key = {"org_id": POMME, "from_table": r.INTERACTIONS, "from_id": interaction_id}
        links.append({**key, "to_table": table, "to_id": to_id})

    record(r.COMPANIES, r.company_raw({"id": "c-dupont", "name": "Boulangerie Dupont", "version": 1}))
    for n in range(4_500):
        owner, invited = (ALICE, (BRUNO, CHLOE)) if n < 1_500 else (BRUNO, (CHLOE,))
        start = NOW + timedelta(hours=n)
        interaction = _interaction(
            f"i-{n:05d}", start.isoformat(), owner_id=owner, company_ids=["c-dupont"] if n % 3 == 0 else []
        )
        record(r.INTERACTIONS, r.interaction_raw(interaction))
        for company_id in interaction["company_ids"]:
            link(interaction["id"], r.COMPANIES, company_id)
        for user_id in invited:
            participant = r.participant_raw(interaction["id"], _participant(user_id, "confirmed"))
            record(r.PARTICIPANTS, participant)
            link(interaction["id"], r.PARTICIPANTS, participant["id"])
        for user_id in (owner, *invited):
            people.append(
                {"interaction_id": interaction["id"], "user_id": user_id, "org_id": POMME, "start_at": start}
            )
    for model, rows in ((ReplicaRecord, records), (ReplicaLink, links), (InteractionPerson, people)):
        session.execute(insert(model), rows)
    session.add(ChangeCounter(id=feed.COUNTER_ID, seq=len(records)))
    session.commit()


def _plans(session: Session, statements: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each node of each statement's plan, as run (EXPLAIN ANALYZE)."""
    for statement, parameters in statements:
        explained = (
            session.connection()
            .exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            .scalar_one()
        )
        nodes = [explained[0]["Plan"]]
        while nodes:
            node = nodes.pop()
            nodes += node.get("Plans", [])
            yield node


def test_the_feeds_queries_look_up_each_row_by_key_on_tables_never_analysed(engine):
    with Session(engine) as session:
        _seed(session)
        tables = session.execute(
            text(
                "SELECT relname, reltuples FROM pg_class WHERE relnamespace = CAST(:schema AS regnamespace)"
            ),
            {"schema": SCHEMA},
        ).all()
        assert {reltuples for name, reltuples in tables if name in KEYS} == {-1}  # never analysed
        statements: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def kept(connection, cursor, statement, parameters, context, executemany) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        state = calendar_state.feed_state(session, POMME, ALICE, NOW, WINDOW, "settings")
        records = calendar_records.feed_records(session, POMME, ALICE, NOW, WINDOW)
        assert state.people == len(records.interactions) == 1_500
        assert len(records.participants["i-00042"]) == 2
        event.remove(engine, "before_cursor_execute", kept)
        # Chloé declines one of Alice's meetings: the kept state no longer holds, the patch reads it.
        answer = {
            "interaction": _interaction("i-00042", (NOW + timedelta(hours=42)).isoformat()),
            "participant": {**_participant(CHLOE, "refused"), "responded_at": NOW.isoformat()},
        }
        feed.apply_participant(feed.Feed(session, POMME), answer, False)
        session.commit()
        event.listen(engine, "before_cursor_execute", kept)
        assert calendar_state.refreshed(session, state, POMME, ALICE, NOW, WINDOW) is None
        now_seq = calendar_state.org_seq(session, POMME)
        shown = [i["id"] for i in records.interactions]
        patch = calendar_state.patch_since(
            session, POMME, ALICE, NOW, WINDOW, (state.org_seq, now_seq), shown
        )
        assert patch is not None and patch.read == {"i-00042"}
        # Bruno moves one of his meetings: its event reads who attends from the replica.
        moved = _interaction(
            "i-04000",
            (NOW + timedelta(days=200)).isoformat(),
            owner_id=BRUNO,
            version=2,
            participants=[_participant(CHLOE, "confirmed")],
        )
        feed.apply_interaction(feed.Feed(session, POMME), moved)
        session.commit()
        assert session.get(InteractionPerson, ("i-04000", CHLOE)) is not None
        event.remove(engine, "before_cursor_execute", kept)
        # A mail's interaction with its documents: the feed's own reads and writes, each by key.
        written: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def applied(connection, cursor, statement, parameters, context, executemany) -> None:
            if not executemany and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                written.append((statement, parameters))

        mail = _interaction(
            "i-mail",
            NOW.isoformat(),
            company_ids=["c-dupont"],
            participants=[_participant(BRUNO, "invited"), _participant(CHLOE, "invited")],
            documents=[
                {
                    "id": f"d-{n}",
                    "interaction_id": "i-mail",
                    "name": f"scan-{n}.pdf",
                    "created_at": NOW.isoformat(),
                }
                for n in (1, 2)
            ],
        )
        feed.apply_interaction(feed.Feed(session, POMME), mail)
        event.remove(engine, "before_cursor_execute", applied)
        scans = [
            node
            for node in _plans(session, written)
            if node.get("Relation Name") in KEYS and node["Node Type"] == "Seq Scan"
        ]
        session.rollback()
        assert written and scans == []

        repeated = [
            node
            for node in _plans(session, statements)
            if node.get("Relation Name") in KEYS and node["Actual Loops"] > 1
        ]
    assert repeated, "the feed looks its records up row by row"
    for node in repeated:
        keys = KEYS[node["Relation Name"]]
        condition = node.get("Index Cond", "")
        assert any(key in condition for key in ((keys,) if isinstance(keys, str) else keys)), node
