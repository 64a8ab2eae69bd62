"""Idempotent consumption: remember which events a consumer has applied.

A consumer calls ``first_delivery`` inside the transaction that applies the
event: one INSERT ... ON CONFLICT DO NOTHING on the primary key (event_id,
consumer). A redelivery inserts nothing and is told so; a concurrent one waits
for the first transaction and is then told so (or inserts, if the first rolled
back), so the event's effects land exactly once.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    Row,
    Select,
    String,
    Table,
    bindparam,
    exists,
    literal,
    select,
    true,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
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


def first_delivery_reading(
    session: Session, event_id: str, consumer: str, query: Select, parameters: dict[str, Any] | None = None
) -> tuple[bool, Row | None]:
    """``first_delivery`` and the first row of ``query`` (with its bound ``parameters``; None
    when it has none), which the consumer reads to apply the event: on PostgreSQL in one round
    trip, the record written by the query's WITH clause (the query reads what the transaction saw
    before it); elsewhere two. Give the same ``query`` object each time (a module's constant with
    ``bindparam``s): the statement around it is built once for it."""
    if session.get_bind().dialect.name != "postgresql":
        first = session.execute(_record(session, event_id, consumer)).rowcount == 1
        return first, session.execute(query, parameters or {}).first()
    values = {"inbox_event_id": event_id, "inbox_consumer": consumer, "inbox_processed_at": utcnow()}
    row = session.execute(_reading(query), {**values, **(parameters or {})}).one()
    return bool(row.first_delivery), row if row.read_found else None


@functools.lru_cache(maxsize=64)
def _reading(query: Select) -> Select:
    recorded = (
        postgresql_insert(_processed)
        .values(
            event_id=bindparam("inbox_event_id"),
            consumer=bindparam("inbox_consumer"),
            processed_at=bindparam("inbox_processed_at"),
        )
        .on_conflict_do_nothing()
        .returning(_processed.c.event_id)
        .cte("recorded")
    )
    read = query.add_columns(literal(True).label("read_found")).limit(1).subquery("read")
    one = select(literal(1).label("one")).subquery("one")
    return (
        select(exists(select(recorded.c.event_id)).label("first_delivery"), read)
        .select_from(one.outerjoin(read, true()))
        .add_cte(recorded)
    )


def _record(session: Session, event_id: str, consumer: str) -> Any:
    return insert_ignoring_duplicates(session, _processed).values(
        event_id=event_id, consumer=consumer, processed_at=utcnow()
    )
