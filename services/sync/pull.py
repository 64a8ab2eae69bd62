"""A pull: what changed for one user's phone since ``last_pulled_at``, as WatermelonDB wants it.

The scope is computed now; ``scope_members`` says what it was when the phone
last pulled (``last_pulled_at`` is a sequence this service answered), so:

- created: in scope now, not held at ``last_pulled_at`` (everything on a first pull);
- deleted: held at ``last_pulled_at``, out of scope now (deleted, archived, too old, unlinked);
- updated: held and still in scope, changed after ``last_pulled_at``; and every
  record a push of this user had refused since (sent as the server holds it,
  or as deleted), so the phone converges.

The answer is built as JSON text from the stored raw records, without parsing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.times import aware
from services.sync import records as r
from services.sync.feed import current_seq, next_seq
from services.sync.models import ReplicaRecord, ScopeMember, ScopeState, SyncAlert
from services.sync.scope import Key, Windows, by_table, next_edge, scope_of


@dataclass(frozen=True)
class Migration:
    """WatermelonDB's ``migration``: tables and columns the client's schema gained."""

    tables: tuple[str, ...] = ()
    column_tables: tuple[str, ...] = ()


@dataclass
class Changes:
    created: set[Key] = field(default_factory=set)
    updated: set[Key] = field(default_factory=set)
    deleted: set[Key] = field(default_factory=set)

    texts: dict[Key, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


def pull(
    session: Session,
    org_id: str,
    user_id: str,
    now: datetime,
    windows: Windows,
    last_pulled_at: int | None,
    migration: Migration | None = None,
) -> tuple[str, int, int]:
    """(the answer as JSON text, its timestamp, how many records it carries).

    Everything is read first and written last: the change counter a scope's move takes and the
    scope's state row are locked until the pull commits, and the feed's transactions wait on
    both (an event stamps the scopes it makes dirty while it holds the counter)."""
    seen_up_to = current_seq(session)
    state = session.get(ScopeState, user_id)
    unchanged = (
        state is not None
        and state.dirty_seq <= state.computed_seq
        and aware(state.valid_until) > now
        and last_pulled_at is not None
        and migration is None
    )
    moves: Moves | None = None
    if unchanged:
        # Nothing that could move the scope happened since it was last computed: it is
        # ``scope_members`` as recorded, and only what changed since the phone's pull is read.
        changes = _held_changes(session, org_id, user_id, last_pulled_at)
    else:
        changes, moves = _computed_changes(session, org_id, user_id, now, windows, last_pulled_at, migration)
        edge = next_edge(session, user_id, now, windows)
    texts = changes.texts
    texts |= _raw_texts(session, org_id, (changes.created | changes.updated) - texts.keys())
    timestamp = seen_up_to
    if moves is not None and (moves.entering or moves.leaving):
        # Taking a sequence waits for every change numbered below it to commit: those committed
        # since ``seen_up_to`` are read again so the timestamp covers them.
        timestamp = next_seq(session)
        _record_membership(session, org_id, user_id, moves.entering, moves.leaving, timestamp)
        late = _changed_between(session, org_id, seen_up_to, timestamp, moves.scope)
        changes.updated |= late - changes.created
        texts |= _raw_texts(session, org_id, late)
    if state is None:
        session.add(
            ScopeState(user_id=user_id, org_id=org_id, computed_seq=seen_up_to, dirty_seq=0, valid_until=edge)
        )
    elif not unchanged:
        state.computed_seq, state.valid_until = seen_up_to, edge
    return _answer(texts, changes, timestamp), timestamp, changes.count


@dataclass(frozen=True)
class Moves:
    """How a computed scope differs from the one recorded: to record when the pull writes."""

    entering: set[Key]
    leaving: set[Key]
    scope: frozenset[Key]


def _computed_changes(
    session: Session,
    org_id: str,
    user_id: str,
    now: datetime,
    windows: Windows,
    last_pulled_at: int | None,
    migration: Migration | None,
) -> tuple[Changes, Moves]:
    """The scope computed now, against what the phone held at ``last_pulled_at``; reads only."""
    first = last_pulled_at is None
    found = scope_of(session, org_id, user_id, now, windows, with_raw=first)
    scope: dict[Key, int] = {key: value[0] for key, value in found.items()} if first else found
    current, held_then = _members(session, user_id, last_pulled_at)
    changes = Changes(
        created=scope.keys() - held_then,
        deleted=held_then - scope.keys(),
        updated={key for key in scope.keys() & held_then if first or scope[key] > last_pulled_at},
    )
    if not first:
        _resend(_refused_since(session, user_id, last_pulled_at), scope.keys(), changes)
    if migration is not None:
        changes.created |= {key for key in scope if key[0] in migration.tables}
        changes.updated |= {key for key in scope if key[0] in migration.column_tables} - changes.created
    # A first pull read every record with the scope.
    changes.texts = {key: found[key][1] for key in changes.created} if first else {}
    moves = Moves(entering=scope.keys() - current, leaving=current - scope.keys(), scope=frozenset(scope))
    return changes, moves


def _held_changes(session: Session, org_id: str, user_id: str, last_pulled_at: int) -> Changes:
    """What changed for a phone that pulled at ``last_pulled_at``, the scope being ``scope_members``."""
    member, record = ScopeMember, ReplicaRecord
    current = (member.user_id == user_id) & member.left_seq.is_(None)
    entered = set(
        session.execute(
            select(member.table_name, member.record_id).where(current, member.entered_seq > last_pulled_at)
        ).tuples()
    )
    left = set(
        session.execute(
            select(member.table_name, member.record_id).where(
                member.user_id == user_id,
                member.entered_seq <= last_pulled_at,
                member.left_seq > last_pulled_at,
            )
        ).tuples()
    )
    # What changed in the organisation since (few rows, by the (org, seq) index), then which of
    # those the phone held; one join would let the planner walk the whole scope instead.
    since = session.execute(
        select(record.table_name, record.record_id).where(
            record.org_id == org_id, record.seq > last_pulled_at
        )
    ).tuples()
    changed = _held_since(session, user_id, set(since), last_pulled_at)
    # A record that left and came back in between was held then and is held now.
    back = entered & left
    changes = Changes(created=entered - back, deleted=left - back - entered, updated=changed | back)
    refused = _refused_since(session, user_id, last_pulled_at)
    if refused:
        _resend(refused, _held_since(session, user_id, refused, None), changes)
    return changes


def _members(session: Session, user_id: str, last_pulled_at: int | None) -> tuple[set[Key], set[Key]]:
    """(in scope as last recorded, in scope at ``last_pulled_at``)."""
    current: set[Key] = set()
    held_then: set[Key] = set()
    member = ScopeMember
    for table, record_id, entered, left in session.execute(
        select(member.table_name, member.record_id, member.entered_seq, member.left_seq).where(
            member.user_id == user_id
        )
    ).tuples():
        if left is None:
            current.add((table, record_id))
        if (
            last_pulled_at is not None
            and entered <= last_pulled_at
            and (left is None or left > last_pulled_at)
        ):
            held_then.add((table, record_id))
    return current, held_then


def _record_membership(
    session: Session, org_id: str, user_id: str, entering: set[Key], leaving: set[Key], seq: int
) -> None:
    if entering:
        session.execute(
            ScopeMember.__table__.insert(),
            [
                {
                    "user_id": user_id,
                    "table_name": t,
                    "record_id": i,
                    "entered_seq": seq,
                    "left_seq": None,
                    "org_id": org_id,
                }
                for t, i in entering
            ],
        )
    for table, part in by_table(leaving):
        session.execute(
            update(ScopeMember)
            .where(
                ScopeMember.user_id == user_id,
                ScopeMember.table_name == table,
                ScopeMember.record_id.in_(part),
                ScopeMember.left_seq.is_(None),
            )
            .values(left_seq=seq)
        )


def _changed_between(session: Session, org_id: str, after: int, before: int, keys: Iterable[Key]) -> set[Key]:
    changed = set(
        session.execute(
            select(ReplicaRecord.table_name, ReplicaRecord.record_id).where(
                ReplicaRecord.org_id == org_id, ReplicaRecord.seq > after, ReplicaRecord.seq < before
            )
        ).tuples()
    )
    return changed & set(keys)


def _resend(refused: set[Key], in_scope: Iterable[Key], changes: Changes) -> None:
    """Records of refused changes go back as the server holds them, or as deleted."""
    held = set(in_scope)
    for key in refused:
        if key in held:
            if key not in changes.created:
                changes.updated.add(key)
        else:
            changes.deleted.add(key)


def _refused_since(session: Session, user_id: str, last_pulled_at: int) -> set[Key]:
    rows = session.execute(
        select(SyncAlert.table_name, SyncAlert.record_id).where(
            SyncAlert.user_id == user_id, SyncAlert.seq > last_pulled_at
        )
    ).tuples()
    return set(rows)


def _held_since(session: Session, user_id: str, keys: set[Key], last_pulled_at: int | None) -> set[Key]:
    """Those of ``keys`` in the user's scope now (and already at ``last_pulled_at``, if given)."""
    held: set[Key] = set()
    member = ScopeMember
    for table, part in by_table(keys):
        query = select(member.record_id).where(
            member.user_id == user_id,
            member.table_name == table,
            member.record_id.in_(part),
            member.left_seq.is_(None),
        )
        if last_pulled_at is not None:
            query = query.where(member.entered_seq <= last_pulled_at)
        held.update((table, record_id) for record_id in session.scalars(query))
    return held


def _raw_texts(session: Session, org_id: str, keys: set[Key]) -> dict[Key, str]:
    texts: dict[Key, str] = {}
    record = ReplicaRecord
    for table, part in by_table(keys):
        rows = session.execute(
            select(record.record_id, record.raw).where(
                record.org_id == org_id, record.table_name == table, record.record_id.in_(part)
            )
        ).tuples()
        texts.update(((table, record_id), raw) for record_id, raw in rows)
    return texts


def _answer(texts: dict[Key, str], changes: Changes, timestamp: int) -> str:
    per_table: dict[str, tuple[list[str], list[str], list[str]]] = {t: ([], [], []) for t in r.TABLES}
    for kind, keys in ((0, changes.created), (1, changes.updated)):
        for key in keys:
            if key in texts:
                per_table[key[0]][kind].append(texts[key])
    for table, record_id in changes.deleted:
        per_table[table][2].append(json.dumps(record_id))
    parts = [
        f'"{table}":{{"created":[{",".join(created)}],"updated":[{",".join(updated)}],'
        f'"deleted":[{",".join(deleted)}]}}'
        for table, (created, updated, deleted) in per_table.items()
        if created or updated or deleted
    ]
    return f'{{"changes":{{{",".join(parts)}}},"timestamp":{timestamp}}}'
