"""What a user's calendar feed shows, read from sync's replica (the owning services' events keep
it; a feed never calls them record by record): the user's interactions in the window, with their
participants, companies, people and types, as WatermelonDB raw records (calendar.py writes them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, Select, case, func, select
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
    interaction_id = InteractionPerson.interaction_id
    live = case((ReplicaRecord.deleted.is_(False), ReplicaRecord.raw))
    texts: dict[str, str] = {}
    interactions: list[dict[str, Any]] = []
    participants: dict[str, list[dict[str, Any]]] = {}
    rows = session.execute(
        chosen.with_only_columns(
            replica_lookup(org_id, r.INTERACTIONS, interaction_id, live),
            linked(
                org_id,
                interaction_id,
                (r.PARTICIPANTS,),
                lambda link: replica_lookup(org_id, r.PARTICIPANTS, link.to_id, live),
            ),
        )
    )
    for raw, participant_raws in rows:
        if raw is None:
            continue
        interaction = _decoded(raw, texts)
        interactions.append(interaction)
        if participant_raws:
            participants[interaction["id"]] = [_decoded(p, texts) for p in participant_raws.split(SEPARATOR)]
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


# Between the values one lookup joins: JSON text never holds a control character unescaped.
SEPARATOR = "\x1e"


def replica_lookup(org_id: str, table: str, record_id: Any, column: Any) -> ScalarSelect[Any]:
    """``column`` of the replica record ``record_id`` (a column of the enclosing query) of
    ``table``, or NULL: a correlated subquery, which PostgreSQL runs as one lookup of the whole
    primary key per row whatever the tables' statistics. A join of the same rows may be planned
    as a scan of the organisation's whole table per row when the tables were never analysed
    (autovacuum off): every prefix of the key is then guessed to match one row."""
    record = ReplicaRecord
    return (
        select(column)
        .where(record.org_id == org_id, record.table_name == table, record.record_id == record_id)
        .scalar_subquery()
    )


def linked(
    org_id: str, interaction_id: Any, tables: tuple[str, ...], value: Callable[[Any], Any]
) -> ScalarSelect[Any]:
    """``value(link)`` of each of the interaction's links to ``tables`` (NULLs left out) joined
    with ``SEPARATOR``, in no order, or NULL: a correlated subquery, one range of the links'
    primary key per row (see ``replica_lookup``). The tables are chosen among the interaction's
    few links rather than in the WHERE clause: there, a single one made the organisation's
    whole list of links to that table (``ix_replica_links_to``) look as cheap to the planner."""
    link = ReplicaLink
    return (
        select(func.aggregate_strings(case((link.to_table.in_(tables), value(link))), SEPARATOR))
        .where(link.org_id == org_id, link.from_table == r.INTERACTIONS, link.from_id == interaction_id)
        .scalar_subquery()
    )


def _decoded(raw: str, texts: dict[str, str]) -> dict[str, Any]:
    decoded = json.loads(raw)
    texts[decoded["id"]] = raw
    return decoded


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
