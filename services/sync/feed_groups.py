"""The events of a group applied in one transaction (sync's change feed, ``crm.group_apply``).

Each event once (one inbox INSERT for them all), under one change sequence
(``replica.Stamp``); the interactions new to the replica, pending e-mails mostly,
written together with a few statements for them all (``apply_new_interactions``),
the other events by their own feed function as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, tuple_, union_all
from sqlalchemy.orm import Session

from crm.inbox import first_deliveries
from services.sync import records as r
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord, Touch
from services.sync.replica import Feed, Stamp, raw_text

CREATED = "interaction_created"
# An event for the change feed: its payload, its consumer's name and what applies its record.
FeedEvent = tuple[dict[str, Any], str, Callable[[Feed, dict[str, Any]], Any]]
# What the service does after an event's record is applied (the acting user's touch).
AfterEach = Callable[[Feed, dict[str, Any], str], None]


def apply_events(session: Session, events: list[FeedEvent], touch: AfterEach) -> None:
    """The group's events in ``session``'s transaction, each once (a redelivered one, or one
    twice in the group, is skipped); ``touch`` after each."""
    keys = [(payload["event_id"], f"sync.{consumer}") for payload, consumer, _ in events]
    fresh = first_deliveries(session, keys)
    todo = []
    for key, event in zip(keys, events, strict=True):
        if key in fresh:
            fresh.discard(key)  # the same event twice in the group: applied once
            todo.append(event)
    stamp = Stamp(session)
    created = [(payload["org_id"], payload["record"]) for payload, consumer, _ in todo if consumer == CREATED]
    written = iter(apply_new_interactions(session, stamp, created) if created else [])
    for payload, consumer, apply in todo:
        changes = Feed(session, payload["org_id"], stamp)
        if not (consumer == CREATED and next(written)):
            apply(changes, payload["record"])
        touch(changes, payload, consumer)


def apply_new_interactions(
    session: Session, stamp: Stamp, created: list[tuple[str, dict[str, Any]]]
) -> list[bool]:
    """``apply_interaction`` of several ``interaction_created`` records, (org_id, record) each,
    in one transaction (``stamp``'s): those the replica knows nothing of yet (no record of them or
    of their documents, no link from them, no people: what may arrive of an interaction before
    its creation), without participants, are written with a few statements for them all, as
    ``apply_interaction`` would write them one by one; answers, for each record, whether it was
    written here (the others are for ``apply_interaction``).

    Written: the records (the interaction and its documents), the scopes of those who touched
    them made dirty (``_dirty_arrived``), its links (contacts, companies, documents) and its
    owner's person row, the owner's scope made dirty. Nothing links to an interaction, and to a
    document only its interaction, which has no link yet: of those who link to a record new to
    the replica, nobody. The holders of a record new to the replica are nobody too (a pull's
    scope holds only what the replica holds): no stamp for them."""
    written = [False] * len(created)
    candidates: dict[int, tuple[str, dict[str, Any]]] = {}
    seen: set[str] = set()
    for position, (org_id, record) in enumerate(created):
        documents = record.get("documents") or []
        if record.get("participants") or record["id"] in seen:
            continue
        if any(document["interaction_id"] != record["id"] for document in documents):
            continue
        seen.add(record["id"])
        candidates[position] = (org_id, record)
    if not candidates:
        return written
    # The change counter first: every feed transaction takes it before it changes anything, so
    # what is read below stays as read until this one commits.
    seq = stamp.seq
    known, touched = _known_interactions(session, list(candidates.values()))
    fresh = {p: item for p, item in candidates.items() if item[1]["id"] not in known}
    if not fresh:
        return written
    records, links, people = [], [], []
    arrivals: dict[str, list[tuple[str, str]]] = {}
    owners: dict[str, set[str]] = {}
    for org_id, record in fresh.values():
        interaction_id = record["id"]
        documents = record.get("documents") or []
        new = [(r.DOCUMENTS, r.document_raw(document), 1) for document in documents]
        new.append((r.INTERACTIONS, r.interaction_raw(record), record["version"]))
        for table, raw, version in new:
            body = raw_text(raw)
            records.append(
                {"org_id": org_id, "table_name": table, "record_id": raw["id"], "raw": body}
                | {"seq": seq, "version": version, "deleted": False}
            )
            if (table, raw["id"]) in touched:
                arrivals.setdefault(org_id, []).append((table, raw["id"]))
        targets = [(r.CONTACTS, i) for i in record.get("contact_ids") or []]
        targets += [(r.COMPANIES, i) for i in record.get("company_ids") or []]
        targets += [(r.DOCUMENTS, document["id"]) for document in documents]
        key = {"org_id": org_id, "from_table": r.INTERACTIONS, "from_id": interaction_id}
        links.extend({**key, "to_table": table, "to_id": to_id} for table, to_id in sorted(set(targets)))
        if record.get("owner_id"):
            start_at = datetime.fromisoformat(record["start_at"])
            people.append(
                {"interaction_id": interaction_id, "user_id": record["owner_id"], "org_id": org_id}
                | {"start_at": start_at}
            )
            owners.setdefault(org_id, set()).add(record["owner_id"])
    session.execute(insert(ReplicaRecord.__table__), records)
    for org_id, arrived in arrivals.items():
        Feed(session, org_id, stamp)._dirty_arrived(arrived)
    if links:
        session.execute(insert(ReplicaLink.__table__), links)
    if people:
        session.execute(insert(InteractionPerson.__table__), people)
    for org_id, users in owners.items():
        Feed(session, org_id, stamp).dirty_users(users)
    for position in fresh:
        written[position] = True
    return written


# Each key looked up alone, by an index, in a subquery PostgreSQL keeps a subplan (not a join
# it would plan from statistics, which tables never analysed lack): as row-value IN lists, 150
# keys of a group read the whole replica, 67 ms (pg_stat_statements, bench.smtp_ingest).
_KNOWN = text(
    "SELECT k.interaction_id, k.table_name, k.record_id, "
    "coalesce((SELECT true FROM replica_records r WHERE r.org_id = k.org_id "
    "AND r.table_name = k.table_name AND r.record_id = k.record_id), "
    "(SELECT true FROM replica_links l WHERE l.org_id = k.org_id "
    "AND l.from_table = 'interactions' AND l.from_id = k.interaction_id LIMIT 1), "
    "(SELECT true FROM interaction_people p WHERE p.interaction_id = k.interaction_id LIMIT 1), "
    "false) AS known, "
    "coalesce((SELECT true FROM touches t WHERE t.table_name = k.table_name "
    "AND t.record_id = k.record_id LIMIT 1), false) AS touched "
    "FROM unnest(CAST(:orgs AS varchar[]), CAST(:tables AS varchar[]), "
    "CAST(:records AS varchar[]), CAST(:interactions AS varchar[])) "
    "AS k(org_id, table_name, record_id, interaction_id)"
)


def _known_interactions(
    session: Session, created: list[tuple[str, dict[str, Any]]]
) -> tuple[set[str], set[tuple[str, str]]]:
    """The ids of ``created`` interactions of which the replica holds something (their record or
    one of their documents', a link from them, a person), and the (table, id) of those and of
    their documents that a user touched (one statement)."""
    keys = []  # (org_id, table, record_id, interaction_id)
    for org_id, record in created:
        keys.append((org_id, r.INTERACTIONS, record["id"], record["id"]))
        keys.extend((org_id, r.DOCUMENTS, d["id"], record["id"]) for d in record.get("documents") or [])
    if session.get_bind().dialect.name != "postgresql":
        return _known_elsewhere(session, keys)
    orgs, tables, records, interactions = (list(column) for column in zip(*keys, strict=True))
    parameters = {"orgs": orgs, "tables": tables, "records": records, "interactions": interactions}
    known, touched = set(), set()
    for interaction_id, table, record_id, is_known, is_touched in session.execute(_KNOWN, parameters):
        if is_known:
            known.add(interaction_id)
        if is_touched:
            touched.add((table, record_id))
    return known, touched


def _known_elsewhere(
    session: Session, keys: list[tuple[str, str, str, str]]
) -> tuple[set[str], set[tuple[str, str]]]:
    """``_known_interactions`` on SQLite (the tests' database), with row-value IN lists."""
    held, links, people = ReplicaRecord.__table__, ReplicaLink.__table__, InteractionPerson.__table__
    owner_of = {record_id: interaction_id for _org, _table, record_id, interaction_id in keys}
    starts = [(org_id, table, record_id) for org_id, table, record_id, _ in keys if table == r.INTERACTIONS]
    query = union_all(
        select(held.c.record_id).where(
            tuple_(held.c.org_id, held.c.table_name, held.c.record_id).in_([key[:3] for key in keys])
        ),
        select(links.c.from_id).where(
            tuple_(links.c.org_id, links.c.from_table, links.c.from_id).in_(starts)
        ),
        select(people.c.interaction_id).where(people.c.interaction_id.in_([start[2] for start in starts])),
    )
    known = {owner_of[found] for found in session.scalars(query) if found in owner_of}
    touches = Touch.__table__
    touched = session.execute(
        select(touches.c.table_name, touches.c.record_id).where(
            tuple_(touches.c.table_name, touches.c.record_id).in_([key[1:3] for key in keys])
        )
    )
    return known, {(table, record_id) for table, record_id in touched}
