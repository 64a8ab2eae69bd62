"""Idempotent consumption: remember which events a consumer has applied.

A consumer calls ``first_delivery`` inside the transaction that applies the
event. The primary key on (event_id, consumer) makes a concurrent redelivery
fail its commit, so the event's effects land exactly once.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

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
    seen = session.execute(
        select(_processed.c.event_id).where(
            _processed.c.event_id == event_id, _processed.c.consumer == consumer
        )
    ).first()
    if seen is not None:
        return False
    session.execute(_processed.insert().values(event_id=event_id, consumer=consumer, processed_at=utcnow()))
    return True
