"""Exporting contacts as CSV: the list a search shows, every page of it, for spreadsheets.

Columns carry the headers an import recognises (French or English), so an
exported file imports back as it was. A contact's row shows its first current
employment (by company name); interests are listed by name.

``layout`` "google" and "outlook" write the columns those tools import (and
the presets of ``presets`` read back): Google's ``* myContacts ::: Clients``
labels, Outlook's ``Categories``; their delimiter is ``,`` unless asked.
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


# Outlook's own headers, "Title" (the honorific) and "Business Street" empty; Categories joined by ";".
OUTLOOK_COLUMNS = (
    ("Title", None),
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("Company", "company"),
    ("Job Title", "function"),
    ("Business Street", None),
    ("Business Phone", "work_phone"),
    ("Home Street", "street"),
    ("Home City", "city"),
    ("Home Postal Code", "postal_code"),
    ("Home Country/Region", "country"),
    ("Home Phone", "phone"),
    ("Mobile Phone", "mobile"),
    ("E-mail Address", "email"),
    ("E-mail 2 Address", "work_email"),
    ("Categories", "interests"),
    ("Notes", "note"),
    ("Birthday", "birthday"),
    ("Web Page", "website"),
)
# Google Contacts' current import headers: names, then each value behind the label saying what it is.
_GOOGLE_NAMES = (
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("Organization Name", "company"),
    ("Organization Title", "function"),
    ("Notes", "note"),
    ("Labels", "interests"),
    ("Birthday", "birthday"),
)
_GOOGLE_VALUES = (
    ("E-mail 1", "* Home", "email"),
    ("E-mail 2", "Work", "work_email"),
    ("Phone 1", "Home", "phone"),
    ("Phone 2", "Mobile", "mobile"),
    ("Phone 3", "Work", "work_phone"),
    ("Website 1", "Homepage", "website"),
)
_GOOGLE_ADDRESS = (
    ("Address 1 - Street", "street"),
    ("Address 1 - City", "city"),
    ("Address 1 - Postal Code", "postal_code"),
    ("Address 1 - Country", "country"),
)
GOOGLE_HEADER = (
    [name for name, _ in _GOOGLE_NAMES]
    + [f"{name} - {part}" for name, _, _ in _GOOGLE_VALUES for part in ("Label", "Value")]
    + ["Address 1 - Label"]
    + [name for name, _ in _GOOGLE_ADDRESS]
)


def header(language: str, layout: str = "crm") -> list[str]:
    if layout == "outlook":
        return [name for name, _ in OUTLOOK_COLUMNS]
    if layout == "google":
        return list(GOOGLE_HEADER)
    return [LABELS[language][field] for field in FIELDS] + list(EXTRA_LABELS[language])


def _laid_out(row: list[str], layout: str) -> list[str]:
    """A row of the CRM's columns in Outlook's or Google's."""
    values = dict(zip(FIELDS, row, strict=False))
    interests = [name.strip() for name in values["interests"].split(",") if name.strip()]
    if layout == "outlook":
        values["interests"] = ";".join(interests)
        return [values[field] if field else "" for _, field in OUTLOOK_COLUMNS]
    values["interests"] = " ::: ".join(["* myContacts", *interests])
    cells = [values[field] for _, field in _GOOGLE_NAMES]
    for _, label, field in _GOOGLE_VALUES:
        cells += [label if values[field] else "", values[field]]
    address = [values[field] for _, field in _GOOGLE_ADDRESS]
    return [*cells, "Home" if any(address) else "", *address]


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
    rows = [_row(item, current[item["id"]], names) for item in items]
    if request.layout != "crm":
        rows = [_laid_out(row, request.layout) for row in rows]
    if not request.cursor:
        rows.insert(0, header(request.language, request.layout))
    delimiter = request.delimiter or ("," if request.layout != "crm" else csv_format.EXPORT_DELIMITER)
    return {"csv": csv_format.write_rows(rows, delimiter), "next_cursor": page["next_cursor"]}


def _position_cells(position: dict[str, Any] | None) -> dict[str, str | None]:
    if position is None:
        return {"latitude": None, "longitude": None}
    return {"latitude": repr(position["latitude"]), "longitude": repr(position["longitude"])}


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
        "birthday": contact["birthday"],
        "website": contact["website"],
        **_position_cells(address["position"]),
    }
    extra = [contact["id"], contact["created_at"], contact["updated_at"]]
    return [values[field] or "" for field in FIELDS] + extra
