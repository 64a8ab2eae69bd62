"""The change feed: the owning services' events applied to sync's replica, one function per
kind of record (``replica.Feed`` holds one event's changes and the change sequence)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, insert, select, update

from services.sync import address_cards
from services.sync import records as r
from services.sync.calendar_records import replica_lookup
from services.sync.models import InteractionPerson, ProjectPerson, ReplicaLink, ReplicaRecord, Touch
from services.sync.replica import (  # noqa: F401
    COUNTER_ID,
    DELETED,
    TOUCH_REFRESH,
    Feed,
    Stamp,
    current_seq,
    next_seq,
)

# -- one function per kind of record ---------------------------------------------------------------


def apply_company(feed: Feed, record: dict[str, Any], deleted: bool) -> None:
    feed.put(r.COMPANIES, r.company_raw(record), record["version"], deleted or bool(record.get("deleted_at")))


def apply_contact(feed: Feed, record: dict[str, Any], deleted: bool) -> None:
    """The contact and its employments (the event carries the whole history)."""
    deleted = deleted or bool(record.get("deleted_at"))
    employments = record.get("employments") or []
    with feed.arrivals_together():
        feed.put(r.CONTACTS, r.contact_raw(record), record["version"], deleted)
        feed.put_all(r.EMPLOYMENTS, [(r.employment_raw(e), e["version"]) for e in employments], deleted)
    for employment in employments:
        feed.add_link(r.COMPANIES, employment["company_id"], r.EMPLOYMENTS, employment["id"])
    for gone in feed.set_links(r.CONTACTS, record["id"], r.EMPLOYMENTS, (e["id"] for e in employments)):
        feed.mark_deleted(r.EMPLOYMENTS, gone)
    address_cards.keep_details(feed, record)


def apply_interaction(feed: Feed, record: dict[str, Any]) -> None:
    """The interaction, its participants, links and the people whose phones carry it, and the
    documents its creation brought along (a pending e-mail's). Its links are read once."""
    interaction_id = record["id"]
    documents = record.get("documents") or []
    participants = [r.participant_raw(interaction_id, p) for p in record.get("participants") or []]
    brought: dict[str, list[tuple[str, str]]] = {}
    for document in documents:
        brought.setdefault(document["interaction_id"], []).append((r.DOCUMENTS, document["id"]))
    with feed.arrivals_together():
        feed.put_all(r.DOCUMENTS, [(r.document_raw(document), 1) for document in documents])
        stored = feed.put(r.INTERACTIONS, r.interaction_raw(record), record["version"])
        if stored:
            feed.put_all(r.PARTICIPANTS, [(raw, _participant_version(raw)) for raw in participants])
    if stored:
        held, later = feed.links(r.INTERACTIONS, interaction_id), brought.setdefault(interaction_id, [])
        feed.set_links(
            r.INTERACTIONS, interaction_id, r.CONTACTS, record.get("contact_ids") or [], held, later
        )
        feed.set_links(
            r.INTERACTIONS, interaction_id, r.COMPANIES, record.get("company_ids") or [], held, later
        )
        later.extend((r.PARTICIPANTS, raw["id"]) for raw in participants)
    for target_id, targets in brought.items():
        feed.add_links(r.INTERACTIONS, target_id, targets)
    if not stored:
        return
    # Participants come and go by their own events (participant_*), which may arrive before or
    # after this record: the people are the owner and every participant the replica holds now.
    start_at = datetime.fromisoformat(record["start_at"])
    people = {record["owner_id"]} if record.get("owner_id") else set()
    people |= _attending(feed, interaction_id)
    _set_people(feed, InteractionPerson, "interaction_id", interaction_id, people, start_at=start_at)


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
    _set_people(feed, InteractionPerson, "interaction_id", record["id"], set())


def apply_participant(feed: Feed, record: dict[str, Any], removed: bool) -> None:
    """An invitation, an answer or a removal (the interaction's own events carry the rest)."""
    interaction, participant = record["interaction"], record["participant"]
    interaction_id, user_id = interaction["id"], participant["user_id"]
    raw = r.participant_raw(interaction_id, participant)
    stored = feed.stored(r.INTERACTIONS, interaction_id)
    if stored is not None and stored[1]:
        return
    # An invitation may arrive before the interaction's own creation: it is kept all the same.
    people = InteractionPerson.__table__
    key = (people.c.interaction_id == interaction_id) & (people.c.user_id == user_id)
    attended = feed.session.execute(select(people.c.user_id).where(key)).first() is not None
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
        stored = feed.stored(r.PARTICIPANTS, raw["id"])
        keeps = stored is not None and not stored[1] and json.loads(stored[2])["status"] != r.REFUSED
    if user_id == interaction.get("owner_id"):
        return
    if keeps != attended:
        feed.dirty_users([user_id])
    if keeps and not attended:
        start_at = datetime.fromisoformat(interaction["start_at"])
        feed.session.execute(
            insert(people).values(
                interaction_id=interaction_id, user_id=user_id, org_id=feed.org_id, start_at=start_at
            )
        )
    elif not keeps and attended:
        feed.session.execute(delete(people).where(key))


def apply_project(feed: Feed, record: dict[str, Any], occurred: int) -> None:
    """``occurred`` orders the records of projects from before they had a version."""
    project_id = record["id"]
    if not feed.put(r.PROJECTS, r.project_raw(record), record.get("version") or occurred):
        return
    feed.set_links(r.PROJECTS, project_id, r.CONTACTS, record.get("contact_ids") or [])
    feed.set_links(r.PROJECTS, project_id, r.COMPANIES, record.get("company_ids") or [])
    created_at = datetime.fromisoformat(record["created_at"])
    _set_people(
        feed,
        ProjectPerson,
        "project_id",
        project_id,
        set(record.get("user_ids") or []),
        created_at=created_at,
    )


def apply_project_deleted(feed: Feed, record: dict[str, Any], purged: bool = False) -> None:
    version = DELETED if purged else record.get("version") or DELETED
    feed.mark_deleted(r.PROJECTS, record["id"], version)
    _set_people(feed, ProjectPerson, "project_id", record["id"], set())


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


_TOUCHES = Touch.__table__
_TOUCH_KEY = (
    (_TOUCHES.c.user_id == bindparam("key_user"))
    & (_TOUCHES.c.table_name == bindparam("key_table"))
    & (_TOUCHES.c.record_id == bindparam("key_id"))
)
_TOUCHED_AT = select(_TOUCHES.c.touched_at).where(_TOUCH_KEY)
_TOUCH_AGAIN = (
    update(_TOUCHES)
    .where(_TOUCH_KEY, _TOUCHES.c.touched_at < bindparam("at"))
    .values(touched_at=bindparam("at"))
)


def apply_touch(feed: Feed, user_id: str, table: str, record_id: str, at: datetime) -> None:
    """``user_id`` viewed, created or changed the record at ``at`` (the latest time is kept).

    The touch is read without a lock and written after the change counter is taken (when a
    scope becomes dirty): every handler locks the counter before a touch. Locking the touch
    first here (a view) while an event's handler, holding the counter, wrote the same touch
    (its actor created the record) deadlocked the two."""
    key = {"key_user": user_id, "key_table": table, "key_id": record_id}
    touched_at = feed.session.execute(_TOUCHED_AT, key).scalar()
    if touched_at is None:
        feed.dirty_users([user_id])
        feed.session.execute(
            insert(_TOUCHES).values(
                user_id=user_id, table_name=table, record_id=record_id, org_id=feed.org_id, touched_at=at
            )
        )
    elif touched_at < at:
        if touched_at < at - TOUCH_REFRESH:
            feed.dirty_users([user_id])
        feed.session.execute(_TOUCH_AGAIN, {**key, "at": at})


def _set_people(feed: Feed, model: Any, key_column: str, key: str, user_ids: set[str], **fields: Any) -> None:
    """The interaction's or project's people are now ``user_ids`` (with ``fields``)."""
    people = model.__table__
    column = people.c[key_column]
    rows = feed.session.execute(select(people.c.user_id, *(people.c[f] for f in fields)).where(column == key))
    before = {tuple(row) for row in rows}
    after = {(user_id, *fields.values()) for user_id in user_ids}
    if before == after:
        return
    feed.dirty_users({person[0] for person in before | after})
    if before:
        feed.session.execute(delete(people).where(column == key))
    if user_ids:
        rows = [
            {key_column: key, "user_id": user_id, "org_id": feed.org_id, **fields} for user_id in user_ids
        ]
        feed.session.execute(insert(people), rows)
