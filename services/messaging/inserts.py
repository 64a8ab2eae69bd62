"""Inserts that skip rows already there, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(session: Session, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the session's dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table).on_conflict_do_nothing()
