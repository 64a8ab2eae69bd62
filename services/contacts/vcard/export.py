"""Contacts as vCards: one contact, or the contacts a search finds, a page at a time.

A list is exported in pages so that no call outlives the RPC deadline however
many contacts match; the gateway follows ``next_cursor`` to the last page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.times import aware
from services.contacts import lookups, search
from services.contacts.models import Contact, ContactInterest, Interest
from services.contacts.schemas import ContactSearch
from services.contacts.vcard import writer as vcard_writer
from services.contacts.vcard.schemas import VCardExport

PAGE_SIZE = 200  # cards per call: about a tenth of a second of vobject


def export_contact(session: Session, caller: Caller, contact_id: str, version: str) -> dict[str, Any]:
    contact = lookups.contact_of(session, caller.org_id, contact_id)
    return {
        "file_name": f"{vcard_writer.full_name(contact)[:100]}.vcf",
        "content": _cards(session, [contact], version),
        "count": 1,
        "next_cursor": None,
    }


def export_search(session: Session, caller: Caller, request: VCardExport, region: str) -> dict[str, Any]:
    """One page of the contacts ``search_contacts`` finds for the same query, in its order."""
    query = ContactSearch(
        q=request.q, sort=request.sort, direction=request.direction, limit=PAGE_SIZE, cursor=request.cursor
    )
    page = search.search_contacts(session, caller, query, region)
    ids = [item["id"] for item in page["items"]]
    found = {contact.id: contact for contact in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    return {
        "file_name": "contacts.vcf",
        "content": _cards(session, [found[contact_id] for contact_id in ids], request.version),
        "count": len(ids),
        "next_cursor": page["next_cursor"],
    }


def _cards(session: Session, contacts: Sequence[Contact], version: str) -> str:
    ids = [contact.id for contact in contacts]
    jobs, categories = _jobs(session, ids), _interest_names(session, ids)
    return "".join(
        vcard_writer.write_card(contact, jobs[contact.id], version, categories[contact.id])
        for contact in contacts
    )


def _interest_names(session: Session, contact_ids: list[str]) -> dict[str, list[str]]:
    """Each contact's interests by name (CATEGORIES), in alphabetical order."""
    found: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(ContactInterest.contact_id, Interest.name)
        .join(Interest, Interest.id == ContactInterest.interest_id)
        .where(ContactInterest.contact_id.in_(contact_ids), Interest.deleted_at.is_(None))
        .order_by(Interest.name_key)
    )
    for contact_id, name in rows:
        found[contact_id].append(name)
    return found


def _jobs(session: Session, contact_ids: list[str]) -> dict[str, list[vcard_writer.Job]]:
    """Each contact's employments: current ones first, then the latest started."""
    found: dict[str, list[vcard_writer.Job]] = defaultdict(list)
    pairs = lookups.employment_pairs(session, contact_ids)
    rows = [pair for held in pairs.values() for pair in held]
    today = lookups.today()
    rows = sorted(
        rows,
        key=lambda row: (row[0].start_date or date.min, aware(row[0].created_at), row[0].id),
        reverse=True,
    )
    for employment, company in rows:
        current = lookups.is_current(employment, today) and company.deleted_at is None
        found[employment.contact_id].append(vcard_writer.Job(employment, company, current))
    for jobs in found.values():
        jobs.sort(key=lambda job: not job.current)  # stable: latest start first within each
    return found
