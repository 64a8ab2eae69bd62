"""Exporting contacts as CSV: the list a search shows, every page of it, for spreadsheets.

Columns carry the headers an import recognises (French or English), so an
exported file imports back as it was. A contact's row shows its first current
employment (by company name); interests are listed by name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from services.contacts import lookups, search
from services.contacts.csv import format as csv_format
from services.contacts.csv.headers import FIELDS, LABELS
from services.contacts.csv.schemas import ContactExport
from services.contacts.models import Interest
from services.contacts.schemas import ContactSearch

PAGE_SIZE = 1000
# Written after the importable columns; an import ignores them.
EXTRA_LABELS = {
    "fr": ("Identifiant", "Créé le", "Modifié le"),
    "en": ("Id", "Created", "Updated"),
}


def header(language: str) -> list[str]:
    return [LABELS[language][field] for field in FIELDS] + list(EXTRA_LABELS[language])


def export_page(session: Session, caller: Caller, request: ContactExport, region: str) -> dict[str, Any]:
    """One slice of the CSV of the contacts ``search_contacts`` finds for ``q``, in its order.

    The first slice starts with the header; ``next_cursor`` asks for the next, null after the last.
    """
    # Validated as ContactExport; only the page size exceeds what a search page allows.
    query = ContactSearch.model_construct(
        q=request.q, sort=request.sort, direction=request.direction, limit=PAGE_SIZE, cursor=request.cursor
    )
    page = search.search_contacts(session, caller, query, region)
    items = page["items"]
    current = lookups.current_employments(session, [item["id"] for item in items])
    names = dict(
        session.execute(
            select(Interest.id, Interest.name).where(
                Interest.org_id == caller.org_id, Interest.deleted_at.is_(None)
            )
        ).all()
    )
    rows = [] if request.cursor else [header(request.language)]
    rows += [_row(item, current[item["id"]], names) for item in items]
    return {"csv": csv_format.write_rows(rows), "next_cursor": page["next_cursor"]}


def _row(
    contact: dict[str, Any], current: list[tuple[Any, Any]], interest_names: dict[str, str]
) -> list[str]:
    employment, company = current[0] if current else (None, None)
    address, social = contact["address"], contact["social"]
    values = {
        "first_name": contact["first_name"],
        "last_name": contact["last_name"],
        "email": contact["email"],
        "phone": contact["phone"],
        "mobile": contact["mobile"],
        **{name: address[name] for name in ("street", "postal_code", "city", "country")},
        "note": contact["note"],
        "interests": ", ".join(
            sorted(interest_names[i] for i in contact["interests"] if i in interest_names)
        ),
        "company": company.name if company else None,
        "group": company.group_name if company else None,
        "function": employment.function if employment else None,
        "work_email": employment.email if employment else None,
        "work_phone": employment.phone if employment else None,
        "work_mobile": employment.mobile if employment else None,
        **{name: social[name] for name in ("linkedin", "facebook", "x", "viadeo")},
    }
    extra = [contact["id"], contact["created_at"], contact["updated_at"]]
    return [values[field] or "" for field in FIELDS] + extra
