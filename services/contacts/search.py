"""Finding contacts and companies: by free text, and by interests. One page at a time.

Free text matches the folded ``search_text`` (names, groups, e-mails, phone
digits), every word of the query having to appear; a trigram index serves
these LIKE matches on PostgreSQL. A list holds the live records, or with
``archived`` the archived ones (deleted, not yet purged), in the same order.
Given ``near``, a list is the records with a
position, nearest first, each with its ``distance_m`` (``nearby.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from services.contacts import geo, interests, lookups, nearby, search_text, shapes
from services.contacts.models import Company, Contact, ContactInterest, Employment
from services.contacts.pages import Keyset, SortColumn
from services.contacts.schemas import CompanySearch, ContactSearch, InterestQuery

CONTACT_SORTS = {
    "last_name": SortColumn(Contact.last_name),
    "first_name": SortColumn(Contact.first_name),
    "email": SortColumn(Contact.email),
    "created_at": SortColumn(Contact.created_at, "datetime"),
    "updated_at": SortColumn(Contact.updated_at, "datetime"),
}
COMPANY_SORTS = {
    "name": SortColumn(Company.name),
    "group": SortColumn(Company.group_name),
    "city": SortColumn(Company.address_city),
    "created_at": SortColumn(Company.created_at, "datetime"),
    "updated_at": SortColumn(Company.updated_at, "datetime"),
}


def _contacts_keyset(sort: str, direction: str, listing: str = "contacts", searched: bool = False) -> Keyset:
    return Keyset(listing, sort, direction, CONTACT_SORTS[sort], Contact.id, searched)


def _companies_keyset(
    sort: str, direction: str, listing: str = "companies", searched: bool = False
) -> Keyset:
    return Keyset(listing, sort, direction, COMPANY_SORTS[sort], Company.id, searched)


def _listing(name: str, archived: bool | None) -> str:
    """The list a cursor belongs to: an archived list's cursor does not page the live list."""
    return f"{name}-archived" if archived else name


def _kept(model: Any, archived: bool | None) -> Any:
    """The live records, or (``archived``) the archived ones: deleted, not purged."""
    return model.deleted_at.is_not(None) if archived else model.deleted_at.is_(None)


def _matching(query: Select, column: Any, text: str | None, region: str) -> tuple[Select, bool]:
    """``query`` narrowed to the records matching ``text``, and whether the trigram index can
    find them (a term of three characters or more)."""
    terms = search_text.query_terms(text, region)
    for term in terms:
        query = query.where(column.contains(term, autoescape=True))
    return query, any(len(term) >= 3 for term in terms)


def _changed_since(query: Select, column: Any, since: datetime | None) -> Select:
    return query if since is None else query.where(column >= since)


def _contact_page(session: Session, query: Select, keyset: Keyset, limit: int, cursor: str | None) -> dict:
    rows = list(session.scalars(keyset.select_page(query, limit, cursor)))
    served, next_cursor = keyset.page(rows, limit)
    return {"items": shapes.contact_list_items(session, served), "next_cursor": next_cursor}


def _near(request: ContactSearch | CompanySearch) -> nearby.Near | None:
    if request.near is None:
        if request.within_m is not None:
            raise invalid("within_m", "only with near=latitude,longitude: the distance is from that position")
        return None
    latitude, longitude = geo.parse_point(request.near)
    return nearby.Near(latitude, longitude, request.within_m)


def search_contacts(session: Session, caller: Caller, request: ContactSearch, region: str) -> dict[str, Any]:
    query = select(Contact).where(Contact.org_id == caller.org_id, _kept(Contact, request.archived))
    query, searched = _matching(query, Contact.search_text, request.q, region)
    query = _changed_since(query, Contact.updated_at, request.updated_since)
    listing = _listing("contacts", request.archived)
    near = _near(request)
    if near is not None:
        found, next_cursor = nearby.nearest(
            session, query, Contact, listing, near, request.limit, request.cursor
        )
        items = shapes.contact_list_items(session, [contact for contact, _ in found])
        for item, (_, distance) in zip(items, found, strict=True):
            item["distance_m"] = distance
        return {"items": items, "next_cursor": next_cursor}
    keyset = _contacts_keyset(request.sort, request.direction, listing, searched)
    return _contact_page(session, query, keyset, request.limit, request.cursor)


def search_companies(session: Session, caller: Caller, request: CompanySearch, region: str) -> dict[str, Any]:
    query = select(Company).where(Company.org_id == caller.org_id, _kept(Company, request.archived))
    query, searched = _matching(query, Company.search_text, request.q, region)
    query = _changed_since(query, Company.updated_at, request.updated_since)
    listing = _listing("companies", request.archived)
    near = _near(request)
    if near is not None:
        found, next_cursor = nearby.nearest(
            session, query, Company, listing, near, request.limit, request.cursor
        )
        items = [{**shapes.company_out(company), "distance_m": distance} for company, distance in found]
        return {"items": items, "next_cursor": next_cursor}
    keyset = _companies_keyset(request.sort, request.direction, listing, searched)
    rows = list(session.scalars(keyset.select_page(query, request.limit, request.cursor)))
    served, next_cursor = keyset.page(rows, request.limit)
    items = [{**shapes.company_out(company), "distance_m": None} for company in served]
    return {"items": items, "next_cursor": next_cursor}


def _having_interests(interest_ids: list[str], match: str) -> Select:
    """Ids of the contacts having all (or any) of ``interest_ids``."""
    query = (
        select(ContactInterest.contact_id)
        .where(ContactInterest.interest_id.in_(interest_ids))
        .group_by(ContactInterest.contact_id)
    )
    if match == "all":
        query = query.having(func.count(ContactInterest.interest_id) == len(interest_ids))
    return query


def contacts_with_interests(session: Session, caller: Caller, request: InterestQuery) -> dict[str, Any]:
    """Contacts having all (or any) of the interests, by last name, with their current companies."""
    wanted = interests.checked_ids(session, caller.org_id, request.interest_ids, "interest_ids")
    query = select(Contact).where(
        Contact.org_id == caller.org_id,
        Contact.deleted_at.is_(None),
        Contact.id.in_(_having_interests(wanted, request.match)),
    )
    return _contact_page(session, query, _contacts_keyset("last_name", "asc"), request.limit, request.cursor)


def companies_with_interests(session: Session, caller: Caller, request: InterestQuery) -> dict[str, Any]:
    """Companies with at least one current employee having all (or any) of the interests, by name.

    Each comes with those employees as ``matching_contacts``.
    """
    wanted = interests.checked_ids(session, caller.org_id, request.interest_ids, "interest_ids")
    matching = _having_interests(wanted, request.match)
    employing = (
        select(Employment.company_id)
        .join(Contact, Contact.id == Employment.contact_id)
        .where(
            Employment.contact_id.in_(matching),
            Employment.deleted_at.is_(None),
            Contact.deleted_at.is_(None),
            lookups.current_clause(lookups.today()),
        )
    )
    query = select(Company).where(
        Company.org_id == caller.org_id, Company.deleted_at.is_(None), Company.id.in_(employing)
    )
    keyset = _companies_keyset("name", "asc")
    rows = list(session.scalars(keyset.select_page(query, request.limit, request.cursor)))
    served, next_cursor = keyset.page(rows, request.limit)
    employees = shapes.current_employees(session, [company.id for company in served])
    among = {employee["contact_id"] for staff in employees.values() for employee in staff}
    matched = set(session.scalars(matching.where(ContactInterest.contact_id.in_(among)))) if among else set()
    items = [
        {
            **shapes.company_out(company),
            "matching_contacts": [e for e in employees[company.id] if e["contact_id"] in matched],
        }
        for company in served
    ]
    return {"items": items, "next_cursor": next_cursor}
