"""Idempotent consumption: remember which events a consumer has applied.

A consumer calls ``first_delivery`` inside the transaction that applies the
event: one INSERT ... ON CONFLICT DO NOTHING on the primary key (event_id,
consumer). A redelivery inserts nothing and is told so; a concurrent one waits
for the first transaction and is then told so (or inserts, if the first rolled
back), so the event's effects land exactly once.

A consumer applying several events in one transaction (``crm.group_apply``)
calls ``first_deliveries`` for them all: one INSERT.

A consumer that writes its effects with one insert and no transaction
(``DatabaseAccess.single_write``) reads ``applied`` with what it reads first and
inserts ``delivery_row`` with its rows instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    bindparam,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from crm.database import insert_ignoring_duplicates
from crm.times import utcnow

_processed = sql_table(
    "processed_events",
    sql_column("event_id", String),
    sql_column("consumer", String),
    sql_column("processed_at", DateTime(timezone=True)),
)


def define_inbox_table(metadata: MetaData) -> Table:
    """Add the ``processed_events`` table to a service's metadata."""
    return Table(
        "processed_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("consumer", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


def first_delivery(session: Session, event_id: str, consumer: str) -> bool:
    """True the first time ``consumer`` sees ``event_id``; records it in ``session``."""
    inserted = session.execute(_record(session, event_id, consumer))
    return inserted.rowcount == 1


def first_deliveries(session: Session, deliveries: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (event_id, consumer) pairs of ``deliveries`` seen for the first time, recorded in
    ``session`` with one statement (a pair twice in the list is first once)."""
    pairs = list(dict.fromkeys(deliveries))
    if not pairs:
        return set()
    now = utcnow()
    # The rows as parameters: one statement compiled once, sent as one multi-row INSERT.
    statement = insert_ignoring_duplicates(session, _processed).returning(
        _processed.c.event_id, _processed.c.consumer
    )
    rows = [{"event_id": e, "consumer": c, "processed_at": now} for e, c in pairs]
    return {(event_id, consumer) for event_id, consumer in session.execute(statement, rows)}


def applied(consumer: str) -> Any:
    """Whether ``consumer`` applied the event whose id is bound as ``event_id``: an EXISTS to
    read with what the consumer reads before a single write (``delivery_row`` goes in it)."""
    return (
        select(_processed.c.event_id)
        .where(_processed.c.event_id == bindparam("event_id"), _processed.c.consumer == consumer)
        .exists()
    )


def delivery_row(event_id: str, consumer: str) -> dict[str, Any]:
    """The inbox row to insert with the event's effects, in the same statement
    (``UnitOfWork.insert``): a delivery racing it fails on the primary key, whole."""
    return {"event_id": event_id, "consumer": consumer, "processed_at": utcnow()}


def _record(session: Session, event_id: str, consumer: str) -> Any:
    return insert_ignoring_duplicates(session, _processed).values(
        event_id=event_id, consumer=consumer, processed_at=utcnow()
    )
