"""The CardDAV address book's side of the change feed: which cards a change of the replica shows in.

A card shows a contact, its employments and the names and addresses of their
companies. Each change of one of these stamps the card with the change's
sequence and forgets the card's written text (``AddressCard``): the cards
changed since a sync token are then those stamped after it, and a card's ETag
(its stamp) holds until the card would read differently. The feed calls
``record_changed`` for every record it stores or deletes, ``keep_details`` with
each contact event (what a card needs beyond the phone's columns).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from services.sync import records as r
from services.sync.models import AddressCard, ReplicaLink

if TYPE_CHECKING:
    from services.sync.feed import Feed

# What a card shows of a company: a change of its notes or tags changes no card.
COMPANY_SHOWN = ("name", "street", "postal_code", "city", "country")
Stored = tuple[str, bool]  # (raw record as JSON text, deleted)
CARDS = AddressCard.__table__


def record_changed(feed: Feed, table: str, record_id: str, before: Stored | None, after: Stored) -> None:
    """The replica stored ``after`` in place of ``before`` (None: new to it)."""
    if table == r.CONTACTS:
        _stamp_contact(feed, record_id, deleted=after[1])
    elif table == r.EMPLOYMENTS:
        _stamp(feed, [json.loads(after[0])["contact_id"]])
    elif table == r.COMPANIES and _shown(before) != _shown(after):
        _stamp_staff(feed, record_id)


def keep_details(feed: Feed, record: dict[str, Any]) -> None:
    """Keep what the card of the contact ``record`` needs beyond its replica record, when the
    record is the one the replica now holds (an older event, arriving late, changes nothing).
    What the event's ``put`` and stamps saw of the record and its card is not read again."""
    contact_id = record["id"]
    held = feed.held.get((r.CONTACTS, contact_id))
    if held is None:
        stored = feed.stored(r.CONTACTS, contact_id)
        held = None if stored is None else stored[0]
    if held is None or held != record.get("version"):
        return
    if contact_id in feed.cards:
        exists, before = True, feed.cards[contact_id]
    else:
        row = feed.session.execute(select(CARDS.c.details).where(_card(feed, contact_id))).first()
        exists, before = row is not None, None if row is None else row[0]
    details = json.dumps(details_of(record), separators=(",", ":"), sort_keys=True)
    if exists and before != details:
        feed.session.execute(
            update(CARDS)
            .where(_card(feed, contact_id))
            .values(details=details, seq=feed.seq, vcard_3=None, vcard_4=None)
        )
        feed.cards[contact_id] = details


def details_of(record: dict[str, Any]) -> dict[str, Any]:
    """A contact event's phones in E.164 (its own and each employment's) and social profiles."""
    jobs = {
        employment["id"]: _present(employment, ("phone_e164", "mobile_e164"))
        for employment in record.get("employments") or []
    }
    return {
        **_present(record, ("phone_e164", "mobile_e164")),
        "social": {key: value for key, value in (record.get("social") or {}).items() if value},
        "jobs": {job_id: phones for job_id, phones in jobs.items() if phones},
    }


def _present(record: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: record[key] for key in keys if record.get(key)}


def _shown(stored: Stored | None) -> tuple[Any, ...] | None:
    if stored is None:
        return None
    raw = json.loads(stored[0])
    return (*(raw.get(key) for key in COMPANY_SHOWN), stored[1])


def _card(feed: Feed, contact_id: str) -> Any:
    return (CARDS.c.org_id == feed.org_id) & (CARDS.c.contact_id == contact_id)


def _stamp_contact(feed: Feed, contact_id: str, deleted: bool) -> None:
    stamped = feed.session.execute(
        update(CARDS)
        .where(_card(feed, contact_id))
        .values(seq=feed.seq, deleted=deleted, vcard_3=None, vcard_4=None)
        .returning(CARDS.c.details)
    ).first()
    if stamped is None:
        feed.session.execute(
            insert(CARDS).values(org_id=feed.org_id, contact_id=contact_id, seq=feed.seq, deleted=deleted)
        )
    feed.cards[contact_id] = None if stamped is None else stamped[0]


def _stamp(feed: Feed, contact_ids: list[str]) -> None:
    """Cards stamped already in this event hold this change's sequence and no text."""
    for contact_id in contact_ids:
        if contact_id in feed.cards:
            continue
        stamped = feed.session.execute(
            update(CARDS)
            .where(_card(feed, contact_id))
            .values(seq=feed.seq, vcard_3=None, vcard_4=None)
            .returning(CARDS.c.details)
        ).first()
        if stamped is not None:
            feed.cards[contact_id] = stamped[0]


def _stamp_staff(feed: Feed, company_id: str) -> None:
    """Every live card showing an employment at the company (a rename restamps its staff).

    Three statements each read by a primary key or ``ix_replica_links_to`` prefix, rather than
    one with nested subqueries: with no statistics (autovacuum off, a replica filled since the
    last ANALYZE) PostgreSQL planned that one as nested loops over every link of the
    organisation, 1.6 s for a company among 128 cards and growing with their cube.
    """
    link = ReplicaLink
    # The company's links, by the primary key's prefix (naming ``to_table`` here would let the
    # planner pick ``ix_replica_links_to`` and read every employment link of the organisation).
    employment_ids = [
        to_id
        for to_table, to_id in feed.session.execute(
            select(link.to_table, link.to_id).where(
                link.org_id == feed.org_id, link.from_table == r.COMPANIES, link.from_id == company_id
            )
        )
        if to_table == r.EMPLOYMENTS
    ]
    if not employment_ids:
        return
    staff = feed.session.scalars(
        select(link.from_id).where(
            link.org_id == feed.org_id,
            link.to_table == r.EMPLOYMENTS,
            link.to_id.in_(employment_ids),
            link.from_table == r.CONTACTS,
        )
    ).all()
    if not staff:
        return
    feed.session.execute(
        update(CARDS)
        .where(CARDS.c.org_id == feed.org_id, CARDS.c.contact_id.in_(set(staff)), CARDS.c.deleted.is_(False))
        .values(seq=feed.seq, vcard_3=None, vcard_4=None)
    )
