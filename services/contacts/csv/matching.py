"""Finding the contact a row without a known e-mail stands for: same name, employed at the same company.

A re-import of a file whose rows have no e-mail (LinkedIn hides most of them)
then updates the contacts the first import created instead of duplicating
them. Names and companies are compared folded (case, accents and spaces
ignored); only current employments count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.contacts import lookups, search_text
from services.contacts.csv.memory import ImportMemory
from services.contacts.csv.rows import RowPlan
from services.contacts.models import Contact, Employment

NameKey = tuple[str, str, str]


def name_key(plan: RowPlan) -> NameKey | None:
    """(first name, last name, company), folded; None for a row without a name or a company."""
    values = plan.values
    if not values["company"] or not (values["first_name"] or values["last_name"]):
        return None
    return (
        search_text.fold(values["first_name"]),
        search_text.fold(values["last_name"]),
        search_text.fold(values["company"]),
    )


def by_name_and_company(
    session: Session, org_id: str, memory: ImportMemory, plans: Iterable[RowPlan], today: date
) -> dict[NameKey, Contact]:
    """The contacts currently employed at a row's company under the row's name, the oldest first."""
    keys = {key for plan in plans if (key := name_key(plan)) is not None}
    companies = {
        memory.companies[key[2]].id: key[2]
        for key in keys
        if key[2] in memory.companies and not memory.companies[key[2]].virtual
    }
    if not companies:
        return {}
    rows = session.execute(
        select(Employment, Contact)
        .join(Contact, Contact.id == Employment.contact_id)
        .where(
            Employment.org_id == org_id,
            Employment.company_id.in_(companies),
            Employment.deleted_at.is_(None),
            Contact.deleted_at.is_(None),
        )
        .order_by(Contact.created_at, Contact.id)
    )
    found: dict[NameKey, Contact] = {}
    for employment, contact in rows:
        key = (
            search_text.fold(contact.first_name),
            search_text.fold(contact.last_name),
            companies[employment.company_id],
        )
        if key in keys and lookups.is_current(employment, today):
            found.setdefault(key, contact)
    return found
