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
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
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


class Feed:
    """One event's changes to the replica, all under one sequence number (taken when needed).

    The scopes it makes dirty are stamped once per event: a record's holders or a user again
    in the same event would be stamped with the same sequence."""

    def __init__(self, session: Session, org_id: str):
        self.session = session
        self.org_id = org_id
        self._seq: int | None = None
        self._dirty_holders: set[tuple[str, str]] = set()
        self._dirty_users: set[str] = set()
        # The version the replica holds of each record ``put`` saw, and the details of each card
        # stamped (address_cards): what a later step of the event would otherwise read again.
        self.held: dict[tuple[str, str], int] = {}
        self.cards: dict[str, str | None] = {}

    @property
    def seq(self) -> int:
        if self._seq is None:
            self._seq = next_seq(self.session)
        return self._seq

    def _key(self, table: str, record_id: str) -> Any:
        return (
            (RECORDS.c.org_id == self.org_id)
            & (RECORDS.c.table_name == table)
            & (RECORDS.c.record_id == record_id)
        )

    def stored(self, table: str, record_id: str, lock: bool = False) -> Stored | None:
        """The replica's record (version, deleted, raw), locked until commit with ``lock``."""
        query = select(RECORDS.c.version, RECORDS.c.deleted, RECORDS.c.raw).where(self._key(table, record_id))
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else (row[0], row[1], row[2])

    def _write(self, table: str, record_id: str, **values: Any) -> None:
        self.session.execute(update(RECORDS).where(self._key(table, record_id)).values(**values))

    def put(self, table: str, raw: dict[str, Any], version: int, deleted: bool = False) -> bool:
        """Store ``raw`` unless the replica holds a newer version; True when it changed."""
        record_id = raw["id"]
        row = self.stored(table, record_id, lock=True)
        text = json.dumps(raw, separators=(",", ":"), sort_keys=True)
        self.held[(table, record_id)] = version if row is None else max(version, row[0])
        if row is None:
            self._arrived(table, record_id)
            self.session.execute(
                insert(RECORDS).values(
                    org_id=self.org_id,
                    table_name=table,
                    record_id=record_id,
                    seq=self.seq,
                    version=version,
                    deleted=deleted,
                    raw=text,
                )
            )
            address_cards.record_changed(self, table, record_id, None, (text, deleted))
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
        return {
            (to_table, to_id)
            for to_table, to_id in self.session.execute(
                select(LINKS.c.to_table, LINKS.c.to_id).where(
                    LINKS.c.org_id == self.org_id,
                    LINKS.c.from_table == from_table,
                    LINKS.c.from_id == from_id,
                )
            )
        }

    def set_links(
        self,
        from_table: str,
        from_id: str,
        to_table: str,
        to_ids: Iterable[str],
        held: set[tuple[str, str]] | None = None,
    ) -> set[str]:
        """``from`` now brings exactly ``to_ids`` of ``to_table``; answers the ids it no longer
        does. ``held``: the links of ``from`` as read in this event (``links``), else read here."""
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
        if added:
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
            self.session.execute(update(STATES).where(STATES.c.user_id.in_(ids)).values(dirty_seq=self.seq))
            self._dirty_users.update(ids)

    def dirty_holders(self, table: str, record_id: str) -> None:
        """The users whose scope holds the record (its links or its deletion changed)."""
        if (table, record_id) in self._dirty_holders:
            return
        member = ScopeMember
        holders = select(member.user_id).where(
            member.org_id == self.org_id,
            member.table_name == table,
            member.record_id == record_id,
            member.left_seq.is_(None),
        )
        self.session.execute(update(STATES).where(STATES.c.user_id.in_(holders)).values(dirty_seq=self.seq))
        self._dirty_holders.add((table, record_id))

    def _arrived(self, table: str, record_id: str) -> None:
        """A record new to the replica: whoever already links or touched it may now hold it (its
        links may have come first: events arrive unordered); every phone of the organisation
        takes a new colleague or type."""
        state = STATES
        if table in r.ORG_WIDE_TABLES:
            self.session.execute(
                update(state).where(state.c.org_id == self.org_id).values(dirty_seq=self.seq)
            )
            return
        member, link = ScopeMember, ReplicaLink
        linkers = (
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
        touchers = select(Touch.user_id).where(Touch.table_name == table, Touch.record_id == record_id)
        self.session.execute(
            update(state).where(state.c.user_id.in_(linkers.union(touchers))).values(dirty_seq=self.seq)
        )
