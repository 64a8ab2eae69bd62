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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, intersect, literal, select, union, union_all
from sqlalchemy.orm import Session

from crm.times import aware
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


INTERACTION_BRINGS = (r.CONTACTS, r.COMPANIES, r.PARTICIPANTS, r.NOTES, r.DOCUMENTS, r.CHECK_INS)
PROJECT_BRINGS = (r.CONTACTS, r.COMPANIES)


def chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def by_table(keys: Iterable[Key]) -> Iterator[tuple[str, list[str]]]:
    """(table, a chunk of its record ids) for ``keys``: the shape IN queries take."""
    grouped: dict[str, list[str]] = {}
    for table, record_id in keys:
        grouped.setdefault(table, []).append(record_id)
    for table, ids in grouped.items():
        for part in chunks(sorted(ids)):
            yield table, part


def scope_of(
    session: Session, org_id: str, user_id: str, now: datetime, windows: Windows, with_raw: bool = False
) -> dict[Key, Any]:
    """Every record in ``user_id``'s scope at ``now``: its last change's sequence, or with
    ``with_raw`` (seq, raw JSON text). One statement: the database does the joins."""
    record, link, person, member, touch = ReplicaRecord, ReplicaLink, InteractionPerson, ProjectPerson, Touch
    touched = (
        select(touch.table_name, touch.record_id)
        .where(touch.user_id == user_id, touch.touched_at >= now - timedelta(days=windows.touched_days))
        .cte("touched")
    )

    def live(table: str, candidates: Any) -> Any:
        return select(record.record_id.label("id")).where(
            record.org_id == org_id,
            record.table_name == table,
            record.deleted.is_(False),
            record.record_id.in_(candidates),
        )

    interactions = live(
        r.INTERACTIONS,
        union(
            select(person.interaction_id).where(
                person.user_id == user_id,
                person.start_at >= now - timedelta(days=windows.past_days),
                person.start_at < now + timedelta(days=windows.future_days),
            ),
            select(touched.c.record_id).where(touched.c.table_name == r.INTERACTIONS),
        ),
    ).cte("my_interactions")
    projects = live(
        r.PROJECTS,
        union(
            select(member.project_id).where(
                member.user_id == user_id,
                member.created_at >= now - timedelta(days=windows.project_days),
            ),
            select(touched.c.record_id).where(touched.c.table_name == r.PROJECTS),
        ),
    ).cte("my_projects")

    def brought(from_table: str, parents: Any, to_tables: tuple[str, ...]) -> Any:
        return select(link.to_table, link.to_id).where(
            link.org_id == org_id,
            link.from_table == from_table,
            link.from_id.in_(select(parents.c.id)),
            link.to_table.in_(to_tables),
        )

    direct = union(
        select(literal(r.INTERACTIONS).label("table_name"), interactions.c.id.label("record_id")),
        select(literal(r.PROJECTS), projects.c.id),
        select(touched.c.table_name, touched.c.record_id).where(
            touched.c.table_name.not_in((r.INTERACTIONS, r.PROJECTS))
        ),
        brought(r.INTERACTIONS, interactions, INTERACTION_BRINGS),
        brought(r.PROJECTS, projects, PROJECT_BRINGS),
    ).cte("direct")

    # Employments between a contact and a company both in scope (a set intersection: the
    # planner cannot know how many rows the scope has, and must not nest loops over it).
    def employments_of(table: str) -> Any:
        return select(link.to_id).where(
            link.org_id == org_id,
            link.from_table == table,
            link.to_table == r.EMPLOYMENTS,
            link.from_id.in_(select(direct.c.record_id).where(direct.c.table_name == table)),
        )

    shared = intersect(employments_of(r.CONTACTS), employments_of(r.COMPANIES)).subquery("shared")
    employments = select(literal(r.EMPLOYMENTS), shared.c.to_id)
    wanted = union(select(direct.c.table_name, direct.c.record_id), employments).subquery("wanted")
    columns = (record.table_name, record.record_id, record.seq, *((record.raw,) if with_raw else ()))
    in_scope = (
        select(*columns)
        .join(
            wanted,
            (record.org_id == org_id)
            & (record.table_name == wanted.c.table_name)
            & (record.record_id == wanted.c.record_id),
        )
        .where(record.deleted.is_(False))
    )
    org_wide = select(*columns).where(
        record.org_id == org_id, record.table_name.in_(r.ORG_WIDE_TABLES), record.deleted.is_(False)
    )
    rows = session.execute(union_all(in_scope, org_wide)).tuples()
    if with_raw:
        return {(table, record_id): (seq, raw) for table, record_id, seq, raw in rows}
    return {(table, record_id): seq for table, record_id, seq in rows}


FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def next_edge(session: Session, user_id: str, now: datetime, windows: Windows) -> datetime:
    """When, with nothing else happening, a record first crosses an edge of the user's windows:
    an interaction getting too old or coming close enough, a project or a touch too old."""
    person, member, touch = InteractionPerson, ProjectPerson, Touch
    past, future = timedelta(days=windows.past_days), timedelta(days=windows.future_days)
    candidates = [
        (
            select(func.min(person.start_at)).where(person.user_id == user_id, person.start_at >= now - past),
            past,
        ),
        (
            select(func.min(person.start_at)).where(
                person.user_id == user_id, person.start_at >= now + future
            ),
            -future,
        ),
        (
            select(func.min(member.created_at)).where(
                member.user_id == user_id, member.created_at >= now - timedelta(days=windows.project_days)
            ),
            timedelta(days=windows.project_days),
        ),
        (
            select(func.min(touch.touched_at)).where(
                touch.user_id == user_id, touch.touched_at >= now - timedelta(days=windows.touched_days)
            ),
            timedelta(days=windows.touched_days),
        ),
    ]
    edges = [aware(moment) + shift for query, shift in candidates if (moment := session.scalar(query))]
    return min(edges, default=FAR_FUTURE)
