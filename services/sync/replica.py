"""One event's changes to sync's replica (``Feed``), and the change sequence they take.

Each applied event takes the next change sequence (``next_seq``) for every
record it changes; the counter row stays locked until the transaction
commits, so sequence order is commit order and a pull that answers ``T``
has seen every change numbered up to ``T``. An event older than what the
replica holds (events arrive unordered) changes nothing.

Rows are read and written with Core statements, one round trip each, never as
ORM objects (a flush of a few objects cost more CPU than the statements it
sent). A record is locked (``FOR UPDATE``) before the counter, a touch after it:
in one order in every handler, so two events never wait for each other's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, union, update
from sqlalchemy.orm import Session

from crm.database import insert_ignoring_duplicates
from services.sync import address_cards
from services.sync import records as r
from services.sync.models import ChangeCounter, ReplicaLink, ReplicaRecord, ScopeMember, ScopeState, Touch

# Deletion events of interactions and projects carry only the id: deleted outranks any version.
DELETED = 2**62
COUNTER_ID = 1
# Seeing a record again this soon after the last time cannot bring it into a scope.
TOUCH_REFRESH = timedelta(days=1)
RECORDS, LINKS, STATES = ReplicaRecord.__table__, ReplicaLink.__table__, ScopeState.__table__
Stored = tuple[int, bool, str]  # (version, deleted, raw JSON text) of a replica record

# The hot statements, built once: building an expression anew for each call cost more CPU
# than sending it. Parameters: the record's key as key_org, key_table, key_id.
_RECORD_KEY = (
    (RECORDS.c.org_id == bindparam("key_org"))
    & (RECORDS.c.table_name == bindparam("key_table"))
    & (RECORDS.c.record_id == bindparam("key_id"))
)
_STORED = select(RECORDS.c.version, RECORDS.c.deleted, RECORDS.c.raw).where(_RECORD_KEY)
_STORED_LOCKED = _STORED.with_for_update()
_WRITE = update(RECORDS).where(_RECORD_KEY)  # the columns to set come as parameters
_LINKS_FROM = select(LINKS.c.to_table, LINKS.c.to_id).where(
    LINKS.c.org_id == bindparam("org_id"),
    LINKS.c.from_table == bindparam("from_table"),
    LINKS.c.from_id == bindparam("from_id"),
)
_DIRTY_USERS = (
    update(STATES)
    .where(STATES.c.user_id.in_(bindparam("user_ids", expanding=True)))
    .values(dirty_seq=bindparam("seq"))
)
_DIRTY_HOLDERS = (
    update(STATES)
    .where(
        STATES.c.user_id.in_(
            select(ScopeMember.user_id).where(
                ScopeMember.org_id == bindparam("member_org"),
                ScopeMember.table_name == bindparam("member_table"),
                ScopeMember.record_id == bindparam("member_id"),
                ScopeMember.left_seq.is_(None),
            )
        )
    )
    .values(dirty_seq=bindparam("seq"))
)


def raw_text(raw: dict[str, Any]) -> str:
    """A record as the replica stores it (compared as text: the same record, the same text)."""
    return json.dumps(raw, separators=(",", ":"), sort_keys=True)


def next_seq(session: Session) -> int:
    """The next change sequence; the counter row stays locked until the caller commits."""
    counter = ChangeCounter.__table__
    seq = session.execute(
        update(counter)
        .where(counter.c.id == COUNTER_ID)
        .values(seq=counter.c.seq + 1)
        .returning(counter.c.seq)
    ).scalar()
    if seq is None:  # a database made without the migration's first row
        session.execute(insert(ChangeCounter.__table__).values(id=COUNTER_ID, seq=1))
        return 1
    return seq


def current_seq(session: Session) -> int:
    return session.execute(select(ChangeCounter.seq).where(ChangeCounter.id == COUNTER_ID)).scalar() or 0


class Stamp:
    """The sequence number a transaction's changes take (taken when first needed) and the
    scopes already stamped dirty with it: stamping a record's holders or a user again with the
    same sequence would change nothing. One per transaction, whatever events it applies."""

    def __init__(self, session: Session):
        self.session = session
        self._seq: int | None = None
        self.dirty_holders: set[tuple[str, str]] = set()
        self.dirty_users: set[str] = set()

    @property
    def seq(self) -> int:
        if self._seq is None:
            self._seq = next_seq(self.session)
        return self._seq


class Feed:
    """One event's changes to the replica, all under its transaction's sequence number
    (``stamp``: several events applied in one transaction share it, and commit together)."""

    def __init__(self, session: Session, org_id: str, stamp: Stamp | None = None):
        self.session = session
        self.org_id = org_id
        self._stamp = stamp or Stamp(session)
        self._dirty_holders = self._stamp.dirty_holders
        self._dirty_users = self._stamp.dirty_users
        # The version the replica holds of each record ``put`` saw, and the details of each card
        # stamped (address_cards): what a later step of the event would otherwise read again.
        self.held: dict[tuple[str, str], int] = {}
        self._arrivals: list[tuple[str, str]] | None = None
        self.cards: dict[str, str | None] = {}

    @property
    def seq(self) -> int:
        return self._stamp.seq

    def _params(self, table: str, record_id: str) -> dict[str, Any]:
        return {"key_org": self.org_id, "key_table": table, "key_id": record_id}

    def stored(self, table: str, record_id: str, lock: bool = False) -> Stored | None:
        """The replica's record (version, deleted, raw), locked until commit with ``lock``."""
        query = _STORED_LOCKED if lock else _STORED
        row = self.session.execute(query, self._params(table, record_id)).first()
        return None if row is None else (row[0], row[1], row[2])

    def _write(self, table: str, record_id: str, **values: Any) -> None:
        self.session.execute(_WRITE, {**self._params(table, record_id), **values})

    def put(self, table: str, raw: dict[str, Any], version: int, deleted: bool = False) -> bool:
        """Store ``raw`` unless the replica holds a newer version; True when it changed."""
        return self.put_all(table, [(raw, version)], deleted)[0]

    def put_all(
        self, table: str, records: list[tuple[dict[str, Any], int]], deleted: bool = False
    ) -> list[bool]:
        """``put`` each (raw, version) of ``table``: the replica's copies are read (and locked)
        with one statement, the records new to it written with one."""
        ids = [raw["id"] for raw, _version in records]
        if not ids:
            return []
        if len(set(ids)) < len(ids):  # the same record twice: each sees the one before
            return [self.put_all(table, [record], deleted)[0] for record in records]
        if len(ids) == 1:
            row = self.stored(table, ids[0], lock=True)
            held = {} if row is None else {ids[0]: row}
        else:
            query = select(RECORDS.c.record_id, RECORDS.c.version, RECORDS.c.deleted, RECORDS.c.raw).where(
                RECORDS.c.org_id == self.org_id, RECORDS.c.table_name == table, RECORDS.c.record_id.in_(ids)
            )
            held = {row[0]: (row[1], row[2], row[3]) for row in self.session.execute(query.with_for_update())}
        texts = [raw_text(raw) for raw, _version in records]
        changed = [
            self._put(table, record_id, text, version, deleted, held.get(record_id))
            for record_id, text, (_raw, version) in zip(ids, texts, records, strict=True)
        ]
        new = [
            {"org_id": self.org_id, "table_name": table, "record_id": record_id, "raw": text}
            | {"seq": self.seq, "version": version, "deleted": deleted}
            for record_id, text, (_raw, version) in zip(ids, texts, records, strict=True)
            if record_id not in held
        ]
        if new:
            self.session.execute(insert(RECORDS), new)
            for row in new:
                address_cards.record_changed(self, table, row["record_id"], None, (row["raw"], deleted))
        return changed

    def _put(
        self, table: str, record_id: str, text: str, version: int, deleted: bool, row: Stored | None
    ) -> bool:
        """Whether ``text`` replaces ``row`` (the replica's copy), written here when it was one."""
        self.held[(table, record_id)] = version if row is None else max(version, row[0])
        if row is None:
            self._arrived(table, record_id)
            return True
        held_version, held_deleted, held_raw = row
        if version < held_version or (held_deleted and not deleted and held_version >= DELETED):
            return False
        if held_raw == text and held_deleted == deleted:
            if version != held_version:
                self._write(table, record_id, version=version)
            return False
        if held_deleted != deleted:
            self.dirty_holders(table, record_id)
            if not deleted:  # restored: whoever links to it or touched it holds it again
                self._arrived(table, record_id)
        self._write(table, record_id, raw=text, deleted=deleted, version=version, seq=self.seq)
        address_cards.record_changed(self, table, record_id, (held_raw, held_deleted), (text, deleted))
        return True

    def mark_deleted(self, table: str, record_id: str, version: int = DELETED) -> None:
        row = self.stored(table, record_id, lock=True)
        if row is None:
            return
        held_version, held_deleted, held_raw = row
        if not held_deleted:
            self._write(table, record_id, deleted=True, version=max(held_version, version), seq=self.seq)
            self.dirty_holders(table, record_id)
            address_cards.record_changed(self, table, record_id, (held_raw, False), (held_raw, True))
        elif version > held_version:
            self._write(table, record_id, version=version)  # purged after it was archived: no restore

    def touch(self, table: str, record_id: str) -> None:
        """Send the record again at the next pulls (a refused change is undone on the phone)."""
        if self.stored(table, record_id, lock=True) is not None:
            self._write(table, record_id, seq=self.seq)

    def links(self, from_table: str, from_id: str) -> set[tuple[str, str]]:
        """What ``from`` brings: (to_table, to_id) pairs, read by the primary key's prefix."""
        params = {"org_id": self.org_id, "from_table": from_table, "from_id": from_id}
        return {(to_table, to_id) for to_table, to_id in self.session.execute(_LINKS_FROM, params)}

    def set_links(
        self,
        from_table: str,
        from_id: str,
        to_table: str,
        to_ids: Iterable[str],
        held: set[tuple[str, str]] | None = None,
        later: list[tuple[str, str]] | None = None,
    ) -> set[str]:
        """``from`` now brings exactly ``to_ids`` of ``to_table``; answers the ids it no longer
        does. ``held``: the links of ``from`` as read in this event (``links``), else read here;
        ``later``: where the links to add go, for the caller's ``add_links`` (one statement)."""
        if held is None:
            held = self.links(from_table, from_id)
        wanted = set(to_ids)
        had = {to_id for table, to_id in held if table == to_table}
        gone, added = had - wanted, wanted - had
        if gone or added:
            self.dirty_holders(from_table, from_id)
        if gone:
            self.session.execute(
                delete(LINKS).where(
                    LINKS.c.org_id == self.org_id,
                    LINKS.c.from_table == from_table,
                    LINKS.c.from_id == from_id,
                    LINKS.c.to_table == to_table,
                    LINKS.c.to_id.in_(gone),
                )
            )
        if added and later is not None:
            later.extend((to_table, to_id) for to_id in sorted(added))
        elif added:
            key = {"org_id": self.org_id, "from_table": from_table, "from_id": from_id, "to_table": to_table}
            self.session.execute(insert(LINKS), [{**key, "to_id": to_id} for to_id in sorted(added)])
        held -= {(to_table, to_id) for to_id in gone}
        held |= {(to_table, to_id) for to_id in added}
        return gone

    def add_links(self, from_table: str, from_id: str, targets: Iterable[tuple[str, str]]) -> None:
        """``from`` brings each (to_table, to_id) too (one statement; those it had stay)."""
        key = {"org_id": self.org_id, "from_table": from_table, "from_id": from_id}
        rows = [{**key, "to_table": table, "to_id": to_id} for table, to_id in sorted(set(targets))]
        if not rows:
            return
        added = self.session.execute(
            insert_ignoring_duplicates(self.session, LINKS).values(rows).returning(LINKS.c.to_id)
        ).all()
        if added:
            self.dirty_holders(from_table, from_id)

    def add_link(self, from_table: str, from_id: str, to_table: str, to_id: str) -> None:
        self.add_links(from_table, from_id, [(to_table, to_id)])

    # -- whose scope this may change (a pull recomputes a dirty scope; see ScopeState) ---------------

    def dirty_users(self, user_ids: Iterable[str]) -> None:
        ids = sorted(set(user_ids) - self._dirty_users)
        if ids:
            self.session.execute(_DIRTY_USERS, {"user_ids": ids, "seq": self.seq})
            self._dirty_users.update(ids)

    def dirty_holders(self, table: str, record_id: str) -> None:
        """The users whose scope holds the record (its links or its deletion changed)."""
        if (table, record_id) in self._dirty_holders:
            return
        params = {"member_org": self.org_id, "member_table": table, "member_id": record_id, "seq": self.seq}
        self.session.execute(_DIRTY_HOLDERS, params)
        self._dirty_holders.add((table, record_id))

    @contextmanager
    def arrivals_together(self) -> Iterator[None]:
        """The records new to the replica within the block make the scopes of those who link to
        them or touched them dirty with one statement, at the block's end."""
        self._arrivals = []
        yield
        arrivals, self._arrivals = self._arrivals, None
        if arrivals:
            self._dirty_arrived(arrivals)

    def _arrived(self, table: str, record_id: str) -> None:
        """A record new to the replica: whoever already links or touched it may now hold it (its
        links may have come first: events arrive unordered); every phone of the organisation
        takes a new colleague or type."""
        if table in r.ORG_WIDE_TABLES:
            self.session.execute(
                update(STATES).where(STATES.c.org_id == self.org_id).values(dirty_seq=self.seq)
            )
        elif self._arrivals is not None:
            self._arrivals.append((table, record_id))
        else:
            self._dirty_arrived([(table, record_id)])

    def _dirty_arrived(self, arrivals: list[tuple[str, str]]) -> None:
        """Each part of the union looks its record up by key (``ix_replica_links_to``,
        ``ix_touches_record``): a plan that needs no statistics."""
        member, link = ScopeMember, ReplicaLink
        parts: list[Any] = []
        for table, record_id in arrivals:
            parts.append(
                select(member.user_id)
                .join(
                    link,
                    (link.org_id == member.org_id)
                    & (link.from_table == member.table_name)
                    & (link.from_id == member.record_id),
                )
                .where(
                    link.org_id == self.org_id,
                    link.to_table == table,
                    link.to_id == record_id,
                    member.left_seq.is_(None),
                )
            )
            parts.append(select(Touch.user_id).where(Touch.table_name == table, Touch.record_id == record_id))
        self.session.execute(
            update(STATES).where(STATES.c.user_id.in_(union(*parts))).values(dirty_seq=self.seq)
        )
