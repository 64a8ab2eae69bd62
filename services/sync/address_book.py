"""A user's CardDAV address book: the contacts of their organisation, read from sync's replica.

Every contact of the organisation is a card (``AddressCard``), stamped with
the change sequence of the last change it shows (``address_cards.py``). The
book's sync token is the greatest stamp of its cards: the cards changed since a
token are those stamped after it, the deleted ones among them gone. A reader
takes the token first and then the cards stamped up to it: sequence order is
commit order, so a card changing meanwhile is left for the next sync, never
lost. A card's text is written once per change and version and kept
(``vcard_3``, ``vcard_4``), since writing one costs milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess
from services.sync import records as r
from services.sync import vcards
from services.sync.exceptions import SyncTokenUnknown
from services.sync.models import AddressCard, ReplicaLink, ReplicaRecord
from services.sync.scope import chunks

TEXT_COLUMN = {"3.0": "vcard_3", "4.0": "vcard_4"}


@dataclass
class BookChanges:
    """The book at ``token``: cards changed (or, on a first sync, held) and deleted, each as
    (contact id, stamp), in stamp order."""

    token: int
    changed: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[tuple[str, int]] = field(default_factory=list)


def book_token(session: Session, org_id: str) -> int:
    """The sync token of the organisation's book: the last stamp of its cards (0: none yet)."""
    latest = session.scalar(select(func.max(AddressCard.seq)).where(AddressCard.org_id == org_id))
    return latest or 0


def changes(session: Session, org_id: str, since: int | None) -> BookChanges:
    """Every live card (``since`` None, a first sync), or the cards changed and deleted since
    the token ``since``. A token this book never gave (greater than its own) is refused."""
    token = book_token(session, org_id)
    if since is not None and since > token:
        raise SyncTokenUnknown(
            "this sync token was not given by this address book: sync again from the start"
        )
    card = AddressCard
    query = select(card.contact_id, card.seq, card.deleted).where(card.org_id == org_id, card.seq <= token)
    if since is None:
        query = query.where(card.deleted.is_(False))
    else:
        query = query.where(card.seq > since)
    found = BookChanges(token)
    for contact_id, seq, deleted in session.execute(query.order_by(card.seq, card.contact_id)):
        (found.deleted if deleted else found.changed).append((contact_id, seq))
    return found


def owner_name(session: Session, org_id: str, user_id: str) -> str | None:
    """The user's name as the replica holds it (the principal's display name)."""
    raw = session.scalar(
        select(ReplicaRecord.raw).where(
            ReplicaRecord.org_id == org_id,
            ReplicaRecord.table_name == r.USERS,
            ReplicaRecord.record_id == user_id,
        )
    )
    return json.loads(raw).get("name") if raw else None


def cards(
    db: DatabaseAccess,
    org_id: str,
    ids: list[str],
    version: str,
    keep: Callable[[str], bool] | None = None,
) -> list[tuple[str, int, str]]:
    """(contact id, stamp, vCard text) of the live cards among ``ids``, in their order, those
    ``keep`` refuses left out. Texts not yet written are written and kept."""
    column = TEXT_COLUMN[version]
    with db.read() as session:
        rows = {
            contact_id: (seq, details, text)
            for part in chunks(list(dict.fromkeys(ids)))
            for contact_id, seq, details, text in session.execute(
                select(
                    AddressCard.contact_id, AddressCard.seq, AddressCard.details, getattr(AddressCard, column)
                ).where(
                    AddressCard.org_id == org_id,
                    AddressCard.contact_id.in_(part),
                    AddressCard.deleted.is_(False),
                )
            )
        }
        unwritten = [contact_id for contact_id, (_, _, text) in rows.items() if text is None]
        sources = _sources(session, org_id, unwritten, {i: rows[i][1] for i in unwritten})
    written = {contact_id: vcards.write(source, version) for contact_id, source in sources.items()}
    if written:
        _keep_texts(db, org_id, column, [(i, rows[i][0], text) for i, text in written.items()])
    answer = []
    for contact_id in dict.fromkeys(ids):
        if contact_id not in rows:
            continue
        seq, _, text = rows[contact_id]
        text = text if text is not None else written.get(contact_id)
        if text is not None and (keep is None or keep(text)):
            answer.append((contact_id, seq, text))
    return answer


def _keep_texts(db: DatabaseAccess, org_id: str, column: str, texts: list[tuple[str, int, str]]) -> None:
    """Keep each text for its card while the card is at the stamp it was written for (a change
    since then forgot it on purpose)."""
    table = AddressCard.__table__
    statement = (
        update(table)
        .where(
            table.c.org_id == bindparam("b_org"),
            table.c.contact_id == bindparam("b_id"),
            table.c.seq == bindparam("b_seq"),
        )
        .values({column: bindparam("b_text")})
    )
    with db.transaction() as uow:
        uow.session.execute(
            statement, [{"b_org": org_id, "b_id": i, "b_seq": seq, "b_text": text} for i, seq, text in texts]
        )


def _sources(
    session: Session, org_id: str, contact_ids: list[str], details: dict[str, str | None]
) -> dict[str, vcards.CardSource]:
    """What each card shows: the contact, its live employments and their companies."""
    contacts = _raws(session, org_id, r.CONTACTS, contact_ids)
    link = ReplicaLink
    held: dict[str, list[str]] = {}
    for part in chunks(list(contacts)):
        for contact_id, employment_id in session.execute(
            select(link.from_id, link.to_id).where(
                link.org_id == org_id,
                link.from_table == r.CONTACTS,
                link.from_id.in_(part),
                link.to_table == r.EMPLOYMENTS,
            )
        ):
            held.setdefault(contact_id, []).append(employment_id)
    employments = {
        i: raw
        for i, (raw, deleted) in _raws(session, org_id, r.EMPLOYMENTS, _flat(held.values())).items()
        if not deleted
    }
    company_ids = sorted({raw["company_id"] for raw in employments.values()})
    companies = _raws(session, org_id, r.COMPANIES, company_ids)
    return {
        contact_id: vcards.CardSource(
            contact=raw,
            details=json.loads(details[contact_id]) if details.get(contact_id) else None,
            employments=[employments[e] for e in held.get(contact_id, []) if e in employments],
            companies=companies,
        )
        for contact_id, (raw, _) in contacts.items()
    }


def _raws(
    session: Session, org_id: str, table: str, ids: Iterable[str]
) -> dict[str, tuple[dict[str, Any], bool]]:
    found = {}
    for part in chunks(sorted(set(ids))):
        for record_id, raw, deleted in session.execute(
            select(ReplicaRecord.record_id, ReplicaRecord.raw, ReplicaRecord.deleted).where(
                ReplicaRecord.org_id == org_id,
                ReplicaRecord.table_name == table,
                ReplicaRecord.record_id.in_(part),
            )
        ):
            found[record_id] = (json.loads(raw), deleted)
    return found


def _flat(lists: Iterable[list[str]]) -> list[str]:
    return [item for items in lists for item in items]
