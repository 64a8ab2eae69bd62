"""What a user's calendar feed shows, read from sync's replica (the owning services' events keep
it; a feed never calls them record by record): the user's interactions in the window, with their
participants, companies, people and types, as WatermelonDB raw records (calendar.py writes them).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from services.sync import records as r
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord
from services.sync.scope import chunks


@dataclass(frozen=True)
class FeedWindow:
    """Which interactions a feed lists: those starting from ``past_days`` ago to ``future_days``
    ahead (``sync.calendar_past_days`` and ``sync.calendar_future_days``)."""

    past_days: int = 90
    future_days: int = 365


@dataclass
class FeedRecords:
    """What one user's feed shows, as the replica holds it (WatermelonDB raw records)."""

    user: dict[str, Any]
    interactions: list[dict[str, Any]] = field(default_factory=list)
    # interaction id -> its participants (refused ones too: they are DECLINED attendees)
    participants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, dict[str, Any]] = field(default_factory=dict)
    # record id -> its JSON text as the replica holds it (interactions and participants): the
    # cheap half of an event's cache key
    texts: dict[str, str] = field(default_factory=dict)


def window_people(org_id: str, user_id: str, now: datetime, window: FeedWindow) -> Select[Any]:
    """``(interaction_id, start_at)`` of the user's interactions starting in the window (owner,
    or participant who has not refused), deleted ones included."""
    person = InteractionPerson
    return select(person.interaction_id, person.start_at).where(
        person.user_id == user_id,
        person.org_id == org_id,
        person.start_at >= now - timedelta(days=window.past_days),
        person.start_at < now + timedelta(days=window.future_days),
    )


def feed_records(
    session: Session,
    org_id: str,
    user_id: str,
    now: datetime,
    window: FeedWindow,
    only: Collection[str] | None = None,
) -> FeedRecords:
    """The user's interactions (owner, or participant who has not refused) starting in the
    window, with their participants, companies, people and types; deleted ones are left out.
    ``only``: those of these interactions (a feed written again in part)."""
    chosen = window_people(org_id, user_id, now, window)
    if only is not None:
        chosen = chosen.where(InteractionPerson.interaction_id.in_(sorted(only)))
    people, record, link = chosen.subquery(), ReplicaRecord, ReplicaLink
    live = record.deleted.is_(False)
    texts: dict[str, str] = {}
    interactions = [
        _decoded(record_id, raw, texts)
        for record_id, raw in session.execute(
            select(record.record_id, record.raw)
            .join_from(people, record, _replica_of(r.INTERACTIONS, people.c.interaction_id, org_id))
            .where(live)
        )
    ]
    shown = {i["id"] for i in interactions}
    participants: dict[str, list[dict[str, Any]]] = {}
    for interaction_id, record_id, raw in session.execute(
        select(link.from_id, record.record_id, record.raw)
        .join_from(people, link, _links_of(people.c.interaction_id, r.PARTICIPANTS, org_id))
        .join(record, _replica_of(r.PARTICIPANTS, link.to_id, org_id))
        .where(live)
    ):
        if interaction_id in shown:
            participants.setdefault(interaction_id, []).append(_decoded(record_id, raw, texts))
    company_ids = {c for i in interactions for c in json.loads(i.get("company_ids") or "[]")}
    user_ids = {user_id} | {i["owner_id"] for i in interactions if i.get("owner_id")}
    user_ids |= {p["user_id"] for people in participants.values() for p in people}
    users = _by_id(_live(session, org_id, r.USERS, sorted(user_ids)))
    return FeedRecords(
        user=users.get(user_id, {"id": user_id}),
        interactions=interactions,
        participants=participants,
        users=users,
        companies=_by_id(_live(session, org_id, r.COMPANIES, sorted(company_ids))),
        types=_by_id(_live(session, org_id, r.INTERACTION_TYPES, sorted({i["type"] for i in interactions}))),
        texts=texts,
    )


def _replica_of(table: str, record_id: Any, org_id: str) -> ColumnElement[bool]:
    record = ReplicaRecord
    return and_(record.org_id == org_id, record.table_name == table, record.record_id == record_id)


def _links_of(from_id: Any, to_table: str, org_id: str) -> ColumnElement[bool]:
    link = ReplicaLink
    return and_(
        link.org_id == org_id,
        link.from_table == r.INTERACTIONS,
        link.from_id == from_id,
        link.to_table == to_table,
    )


def _decoded(record_id: str, raw: str, texts: dict[str, str]) -> dict[str, Any]:
    texts[record_id] = raw
    return json.loads(raw)


def _live(session: Session, org_id: str, table: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    record = ReplicaRecord
    for some in chunks(list(ids)):
        found += (
            json.loads(raw)
            for raw in session.scalars(
                select(record.raw).where(
                    record.org_id == org_id,
                    record.table_name == table,
                    record.record_id.in_(some),
                    record.deleted.is_(False),
                )
            )
        )
    return found


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}
