"""The change feed: the owning services' events applied to sync's replica.

Each applied event takes the next change sequence (``next_seq``) for every
record it changes; the counter row stays locked until the transaction
commits, so sequence order is commit order and a pull that answers ``T``
has seen every change numbered up to ``T``. An event older than what the
replica holds (events arrive unordered) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from services.sync import address_cards
from services.sync import records as r
from services.sync.calendar_records import replica_lookup
from services.sync.models import (
    ChangeCounter,
    InteractionPerson,
    ProjectPerson,
    ReplicaLink,
    ReplicaRecord,
    ScopeMember,
    ScopeState,
    Touch,
)

# Deletion events of interactions and projects carry only the id: deleted outranks any version.
DELETED = 2**62
COUNTER_ID = 1
# Seeing a record again this soon after the last time cannot bring it into a scope.
TOUCH_REFRESH = timedelta(days=1)


def next_seq(session: Session) -> int:
    """The next change sequence; the counter row stays locked until the caller commits."""
    seq = session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == COUNTER_ID)
        .values(seq=ChangeCounter.seq + 1)
        .returning(ChangeCounter.seq)
    ).scalar()
    if seq is None:  # a database made without the migration's first row
        session.add(ChangeCounter(id=COUNTER_ID, seq=1))
        session.flush()
        return 1
    return seq


def current_seq(session: Session) -> int:
    return session.execute(select(ChangeCounter.seq).where(ChangeCounter.id == COUNTER_ID)).scalar() or 0


class Feed:
    """One event's changes to the replica, all under one sequence number (taken when needed)."""

    def __init__(self, session: Session, org_id: str):
        self.session = session
        self.org_id = org_id
        self._seq: int | None = None

    @property
    def seq(self) -> int:
        if self._seq is None:
            self._seq = next_seq(self.session)
        return self._seq

    def put(self, table: str, raw: dict[str, Any], version: int, deleted: bool = False) -> bool:
        """Store ``raw`` unless the replica holds a newer version; True when it changed."""
        key = (self.org_id, table, raw["id"])
        row = self.session.get(ReplicaRecord, key, with_for_update=True)
        text = json.dumps(raw, separators=(",", ":"), sort_keys=True)
        if row is None:
            self._arrived(table, raw["id"])
            self.session.add(
                ReplicaRecord(
                    org_id=self.org_id,
                    table_name=table,
                    record_id=raw["id"],
                    seq=self.seq,
                    version=version,
                    deleted=deleted,
                    raw=text,
                )
            )
            address_cards.record_changed(self, table, raw["id"], None, (text, deleted))
            return True
        if version < row.version or (row.deleted and not deleted and row.version >= DELETED):
            return False
        if row.raw == text and row.deleted == deleted:
            row.version = version
            return False
        if row.deleted != deleted:
            self.dirty_holders(table, raw["id"])
            if not deleted:  # restored: whoever links to it or touched it holds it again
                self._arrived(table, raw["id"])
        before = (row.raw, row.deleted)
        row.raw, row.deleted, row.version, row.seq = text, deleted, version, self.seq
        address_cards.record_changed(self, table, raw["id"], before, (text, deleted))
        return True

    def mark_deleted(self, table: str, record_id: str, version: int = DELETED) -> None:
        row = self.session.get(ReplicaRecord, (self.org_id, table, record_id), with_for_update=True)
        if row is not None and not row.deleted:
            row.deleted, row.version, row.seq = True, max(row.version, version), self.seq
            self.dirty_holders(table, record_id)
            address_cards.record_changed(self, table, record_id, (row.raw, False), (row.raw, True))
        elif row is not None and version > row.version:
            row.version = version  # purged after it was archived: no restore may bring it back

    def touch(self, table: str, record_id: str) -> None:
        """Send the record again at the next pulls (a refused change is undone on the phone)."""
        row = self.session.get(ReplicaRecord, (self.org_id, table, record_id), with_for_update=True)
        if row is not None:
            row.seq = self.seq

    def set_links(self, from_table: str, from_id: str, to_table: str, to_ids: Iterable[str]) -> set[str]:
        """``from`` now brings exactly ``to_ids`` of ``to_table``; answers the ids it no longer does."""
        wanted = set(to_ids)
        link = ReplicaLink
        where = (
            link.org_id == self.org_id,
            link.from_table == from_table,
            link.from_id == from_id,
            link.to_table == to_table,
        )
        held = set(self.session.scalars(select(link.to_id).where(*where)))
        gone, added = held - wanted, wanted - held
        if gone or added:
            self.dirty_holders(from_table, from_id)
        if gone:
            self.session.execute(delete(link).where(*where, link.to_id.in_(gone)))
        for to_id in added:
            self.session.add(
                ReplicaLink(
                    org_id=self.org_id, from_table=from_table, from_id=from_id, to_table=to_table, to_id=to_id
                )
            )
        return gone

    def add_link(self, from_table: str, from_id: str, to_table: str, to_id: str) -> None:
        key = (self.org_id, from_table, from_id, to_table, to_id)
        if self.session.get(ReplicaLink, key) is None:
            self.dirty_holders(from_table, from_id)
            self.session.add(
                ReplicaLink(
                    org_id=self.org_id, from_table=from_table, from_id=from_id, to_table=to_table, to_id=to_id
                )
            )

    def set_people(self, model: Any, key_column: str, key: str, user_ids: set[str], **fields: Any) -> None:
        column = getattr(model, key_column)
        before = {
            (row.user_id, *(getattr(row, f) for f in fields))
            for row in self.session.scalars(select(model).where(column == key))
        }
        after = {(user_id, *fields.values()) for user_id in user_ids}
        if before == after:
            return
        self.dirty_users({person[0] for person in before | after})
        self.session.execute(delete(model).where(column == key))
        for user_id in user_ids:
            self.session.add(model(**{key_column: key}, user_id=user_id, org_id=self.org_id, **fields))

    # -- whose scope this may change (a pull recomputes a dirty scope; see ScopeState) ---------------

    def dirty_users(self, user_ids: Iterable[str]) -> None:
        ids = sorted(set(user_ids))
        if ids:
            self.session.execute(
                update(ScopeState).where(ScopeState.user_id.in_(ids)).values(dirty_seq=self.seq)
            )

    def dirty_holders(self, table: str, record_id: str) -> None:
        """The users whose scope holds the record (its links or its deletion changed)."""
        member = ScopeMember
        holders = select(member.user_id).where(
            member.org_id == self.org_id,
            member.table_name == table,
            member.record_id == record_id,
            member.left_seq.is_(None),
        )
        self.session.execute(
            update(ScopeState).where(ScopeState.user_id.in_(holders)).values(dirty_seq=self.seq)
        )

    def _arrived(self, table: str, record_id: str) -> None:
        """A record new to the replica: whoever already links or touched it may now hold it (its
        links may have come first: events arrive unordered); every phone of the organisation
        takes a new colleague or type."""
        state = ScopeState
        if table in r.ORG_WIDE_TABLES:
            self.session.execute(update(state).where(state.org_id == self.org_id).values(dirty_seq=self.seq))
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
            update(state).where(state.user_id.in_(linkers.union(touchers))).values(dirty_seq=self.seq)
        )


# -- one function per kind of record ---------------------------------------------------------------


def apply_company(feed: Feed, record: dict[str, Any], deleted: bool) -> None:
    feed.put(r.COMPANIES, r.company_raw(record), record["version"], deleted or bool(record.get("deleted_at")))


def apply_contact(feed: Feed, record: dict[str, Any], deleted: bool) -> None:
    """The contact and its employments (the event carries the whole history)."""
    deleted = deleted or bool(record.get("deleted_at"))
    feed.put(r.CONTACTS, r.contact_raw(record), record["version"], deleted)
    employments = record.get("employments") or []
    for employment in employments:
        feed.put(r.EMPLOYMENTS, r.employment_raw(employment), employment["version"], deleted)
        feed.add_link(r.COMPANIES, employment["company_id"], r.EMPLOYMENTS, employment["id"])
    for gone in feed.set_links(r.CONTACTS, record["id"], r.EMPLOYMENTS, (e["id"] for e in employments)):
        feed.mark_deleted(r.EMPLOYMENTS, gone)
    address_cards.keep_details(feed, record)


def apply_interaction(feed: Feed, record: dict[str, Any]) -> None:
    """The interaction, its participants, links and the people whose phones carry it, and the
    documents its creation brought along (a pending e-mail's)."""
    interaction_id = record["id"]
    for document in record.get("documents") or []:
        apply_document(feed, document)
    if not feed.put(r.INTERACTIONS, r.interaction_raw(record), record["version"]):
        return
    feed.set_links(r.INTERACTIONS, interaction_id, r.CONTACTS, record.get("contact_ids") or [])
    feed.set_links(r.INTERACTIONS, interaction_id, r.COMPANIES, record.get("company_ids") or [])
    participants = record.get("participants") or []
    for participant in participants:
        raw = r.participant_raw(interaction_id, participant)
        feed.put(r.PARTICIPANTS, raw, _participant_version(raw))
        feed.add_link(
            r.INTERACTIONS,
            interaction_id,
            r.PARTICIPANTS,
            r.participant_id(interaction_id, participant["user_id"]),
        )
    # Participants come and go by their own events (participant_*), which may arrive before or
    # after this record: the people are the owner and every participant the replica holds now.
    start_at = datetime.fromisoformat(record["start_at"])
    people = {record["owner_id"]} if record.get("owner_id") else set()
    people |= _attending(feed, interaction_id)
    feed.set_people(InteractionPerson, "interaction_id", interaction_id, people, start_at=start_at)


def _participant_version(raw: dict[str, Any]) -> int:
    """Invitations and answers are events of their own, handled in any order: the latest of
    the invitation and the answer wins (an answer always comes after its invitation)."""
    return raw.get("updated_at") or 0


def _attending(feed: Feed, interaction_id: str) -> set[str]:
    """Users of the interaction's live participant records who have not refused. Each record is
    looked up by its key from its link (``replica_lookup``): as ``record_id IN (links)`` on
    tables never analysed, PostgreSQL read all of the organisation's participants for each link
    (1.5 s an interaction event among 12,000 interactions)."""
    link = ReplicaLink
    live = case((ReplicaRecord.deleted.is_(False), ReplicaRecord.raw))
    # The table is chosen in the SELECT list, not the WHERE clause (calendar_records.linked).
    participant_raw = case(
        (link.to_table == r.PARTICIPANTS, replica_lookup(feed.org_id, r.PARTICIPANTS, link.to_id, live))
    )
    rows = feed.session.scalars(
        select(participant_raw).where(
            link.org_id == feed.org_id, link.from_table == r.INTERACTIONS, link.from_id == interaction_id
        )
    )
    attending = set()
    for raw in rows:
        if raw is None:
            continue
        participant = json.loads(raw)
        if participant["status"] != r.REFUSED:
            attending.add(participant["user_id"])
    return attending


def apply_interaction_deleted(feed: Feed, record: dict[str, Any], purged: bool = False) -> None:
    """Archived (its version, so that a restore's newer one brings it back) or purged (for good)."""
    version = DELETED if purged else record.get("version") or DELETED
    feed.mark_deleted(r.INTERACTIONS, record["id"], version)
    feed.set_people(InteractionPerson, "interaction_id", record["id"], set())


def apply_participant(feed: Feed, record: dict[str, Any], removed: bool) -> None:
    """An invitation, an answer or a removal (the interaction's own events carry the rest)."""
    interaction, participant = record["interaction"], record["participant"]
    interaction_id, user_id = interaction["id"], participant["user_id"]
    raw = r.participant_raw(interaction_id, participant)
    stored = feed.session.get(ReplicaRecord, (feed.org_id, r.INTERACTIONS, interaction_id))
    if stored is not None and stored.deleted:
        return
    # An invitation may arrive before the interaction's own creation: it is kept all the same.
    key = (interaction_id, user_id)
    person = feed.session.get(InteractionPerson, key)
    if removed:
        feed.mark_deleted(r.PARTICIPANTS, raw["id"])
        keeps = False
    elif feed.put(r.PARTICIPANTS, raw, _participant_version(raw)):
        feed.add_link(r.INTERACTIONS, interaction_id, r.PARTICIPANTS, raw["id"])
        keeps = participant["status"] != r.REFUSED
    else:
        # Older than the replica's (an invitation arriving after its answer): the replica's
        # record says whether the user attends, not this event.
        feed.add_link(r.INTERACTIONS, interaction_id, r.PARTICIPANTS, raw["id"])
        stored = feed.session.get(ReplicaRecord, (feed.org_id, r.PARTICIPANTS, raw["id"]))
        keeps = stored is not None and not stored.deleted and json.loads(stored.raw)["status"] != r.REFUSED
    if user_id == interaction.get("owner_id"):
        return
    if keeps != (person is not None):
        feed.dirty_users([user_id])
    if keeps and person is None:
        start_at = datetime.fromisoformat(interaction["start_at"])
        feed.session.add(
            InteractionPerson(
                interaction_id=interaction_id, user_id=user_id, org_id=feed.org_id, start_at=start_at
            )
        )
    elif not keeps and person is not None:
        feed.session.delete(person)


def apply_project(feed: Feed, record: dict[str, Any], occurred: int) -> None:
    """``occurred`` orders the records of projects from before they had a version."""
    project_id = record["id"]
    if not feed.put(r.PROJECTS, r.project_raw(record), record.get("version") or occurred):
        return
    feed.set_links(r.PROJECTS, project_id, r.CONTACTS, record.get("contact_ids") or [])
    feed.set_links(r.PROJECTS, project_id, r.COMPANIES, record.get("company_ids") or [])
    created_at = datetime.fromisoformat(record["created_at"])
    feed.set_people(
        ProjectPerson, "project_id", project_id, set(record.get("user_ids") or []), created_at=created_at
    )


def apply_project_deleted(feed: Feed, record: dict[str, Any], purged: bool = False) -> None:
    version = DELETED if purged else record.get("version") or DELETED
    feed.mark_deleted(r.PROJECTS, record["id"], version)
    feed.set_people(ProjectPerson, "project_id", record["id"], set())


def apply_purged(feed: Feed, table: str, record_id: str) -> None:
    """Deleted for good, with the employments that were only its own."""
    feed.mark_deleted(table, record_id)
    if table in (r.CONTACTS, r.COMPANIES):
        for employment in feed.set_links(table, record_id, r.EMPLOYMENTS, ()):
            feed.mark_deleted(r.EMPLOYMENTS, employment)


def apply_note(feed: Feed, record: dict[str, Any]) -> None:
    feed.put(r.NOTES, r.note_raw(record), 1)
    feed.add_link(r.INTERACTIONS, record["interaction_id"], r.NOTES, record["id"])


def apply_document(feed: Feed, record: dict[str, Any]) -> None:
    feed.put(r.DOCUMENTS, r.document_raw(record), 1)
    feed.add_link(r.INTERACTIONS, record["interaction_id"], r.DOCUMENTS, record["id"])


def apply_check_in(feed: Feed, record: dict[str, Any]) -> None:
    """A visit started or ended."""
    feed.put(r.CHECK_INS, r.check_in_raw(record), r.check_in_version(record))
    feed.add_link(r.INTERACTIONS, record["interaction_id"], r.CHECK_INS, record["id"])


def apply_user(feed: Feed, record: dict[str, Any]) -> None:
    feed.put(r.USERS, r.user_raw(record), record.get("version") or 1)


def apply_interaction_types(feed: Feed, types: list[dict[str, Any]], version: int) -> None:
    for record in types:
        feed.put(r.INTERACTION_TYPES, r.interaction_type_raw(record), version)


def apply_touch(feed: Feed, user_id: str, table: str, record_id: str, at: datetime) -> None:
    """``user_id`` viewed, created or changed the record at ``at`` (the latest time is kept)."""
    row = feed.session.get(Touch, (user_id, table, record_id), with_for_update=True)
    if row is None:
        feed.session.add(
            Touch(user_id=user_id, table_name=table, record_id=record_id, org_id=feed.org_id, touched_at=at)
        )
        feed.dirty_users([user_id])
    elif row.touched_at < at:
        if row.touched_at < at - TOUCH_REFRESH:
            feed.dirty_users([user_id])
        row.touched_at = at
