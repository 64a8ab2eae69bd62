"""What a user's phone carries now (docs/sync.md, "Scope"), computed from sync's own tables.

- the user's interactions (owner, or participant who has not refused) starting
  from ``past_days`` ago to ``future_days`` ahead, with their contacts,
  companies, participants, notes and documents;
- projects younger than ``project_days`` linked to the user, with their
  contacts and companies;
- what the user viewed, created or changed on the web in the last
  ``touched_days`` (an interaction brings what it links, as above);
- the employments between the contacts and companies in scope, the
  organisation's interaction types and its users (colleagues' names).

Deleted (or archived) records are never in scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sync import records as r
from services.sync.models import InteractionPerson, ProjectPerson, ReplicaLink, ReplicaRecord, Touch

Key = tuple[str, str]  # (table, record id)
CHUNK = 900


@dataclass(frozen=True)
class Windows:
    """How far the scope reaches, in days (configurable per organisation)."""

    past_days: int = 90
    future_days: int = 30
    project_days: int = 90
    touched_days: int = 30


@dataclass(frozen=True)
class Held:
    """A record in scope: its last change's sequence."""

    seq: int


INTERACTION_BRINGS = (r.CONTACTS, r.COMPANIES, r.PARTICIPANTS, r.NOTES, r.DOCUMENTS)
PROJECT_BRINGS = (r.CONTACTS, r.COMPANIES)


def chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _linked(
    session: Session, org_id: str, from_table: str, from_ids: Iterable[str], to_tables: tuple
) -> set[Key]:
    ids = sorted(set(from_ids))
    found: set[Key] = set()
    link = ReplicaLink
    for part in chunks(ids):
        found.update(
            session.execute(
                select(link.to_table, link.to_id).where(
                    link.org_id == org_id,
                    link.from_table == from_table,
                    link.from_id.in_(part),
                    link.to_table.in_(to_tables),
                )
            ).tuples()
        )
    return found


def scope_of(session: Session, org_id: str, user_id: str, now: datetime, windows: Windows) -> dict[Key, Held]:
    """Every record in ``user_id``'s scope at ``now``, with the sequence of its last change."""
    interactions = set(
        session.scalars(
            select(InteractionPerson.interaction_id).where(
                InteractionPerson.user_id == user_id,
                InteractionPerson.start_at >= now - timedelta(days=windows.past_days),
                InteractionPerson.start_at < now + timedelta(days=windows.future_days),
            )
        )
    )
    projects = set(
        session.scalars(
            select(ProjectPerson.project_id).where(
                ProjectPerson.user_id == user_id,
                ProjectPerson.created_at >= now - timedelta(days=windows.project_days),
            )
        )
    )
    wanted: set[Key] = set()
    for table, record_id in session.execute(
        select(Touch.table_name, Touch.record_id).where(
            Touch.user_id == user_id, Touch.touched_at >= now - timedelta(days=windows.touched_days)
        )
    ).tuples():
        if table == r.INTERACTIONS:
            interactions.add(record_id)
        elif table == r.PROJECTS:
            projects.add(record_id)
        else:
            wanted.add((table, record_id))
    interactions = _live(session, org_id, r.INTERACTIONS, interactions)
    projects = _live(session, org_id, r.PROJECTS, projects)
    wanted.update((r.INTERACTIONS, i) for i in interactions)
    wanted.update((r.PROJECTS, p) for p in projects)
    wanted |= _linked(session, org_id, r.INTERACTIONS, interactions, INTERACTION_BRINGS)
    wanted |= _linked(session, org_id, r.PROJECTS, projects, PROJECT_BRINGS)
    contacts = [i for t, i in wanted if t == r.CONTACTS]
    companies = [i for t, i in wanted if t == r.COMPANIES]
    # Employments between a contact and a company both in scope.
    wanted |= _linked(session, org_id, r.CONTACTS, contacts, (r.EMPLOYMENTS,)) & _linked(
        session, org_id, r.COMPANIES, companies, (r.EMPLOYMENTS,)
    )
    return _with_seq(session, org_id, wanted) | _org_wide(session, org_id)


def _live(session: Session, org_id: str, table: str, ids: set[str]) -> set[str]:
    live: set[str] = set()
    for part in chunks(sorted(ids)):
        live.update(
            session.scalars(
                select(ReplicaRecord.record_id).where(
                    ReplicaRecord.org_id == org_id,
                    ReplicaRecord.table_name == table,
                    ReplicaRecord.record_id.in_(part),
                    ReplicaRecord.deleted.is_(False),
                )
            )
        )
    return live


def _with_seq(session: Session, org_id: str, keys: set[Key]) -> dict[Key, Held]:
    by_table: dict[str, list[str]] = {}
    for table, record_id in keys:
        by_table.setdefault(table, []).append(record_id)
    held: dict[Key, Held] = {}
    record = ReplicaRecord
    for table, ids in by_table.items():
        for part in chunks(sorted(ids)):
            for record_id, seq in session.execute(
                select(record.record_id, record.seq).where(
                    record.org_id == org_id,
                    record.table_name == table,
                    record.record_id.in_(part),
                    record.deleted.is_(False),
                )
            ).tuples():
                held[(table, record_id)] = Held(seq)
    return held


def _org_wide(session: Session, org_id: str) -> dict[Key, Held]:
    record = ReplicaRecord
    rows = session.execute(
        select(record.table_name, record.record_id, record.seq).where(
            record.org_id == org_id, record.table_name.in_(r.ORG_WIDE_TABLES), record.deleted.is_(False)
        )
    ).tuples()
    return {(table, record_id): Held(seq) for table, record_id, seq in rows}
