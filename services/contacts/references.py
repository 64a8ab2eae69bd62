"""Which contacts and companies other services' records may name: the live ones of the caller's
organisation, checked for many ids in one call (an interaction names several)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from services.contacts.models import Company, Contact

MAX_IDS = 1000


def _ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_IDS or not all(isinstance(i, str) for i in value):
        raise invalid(field, f"a list of at most {MAX_IDS} ids")
    return value


def live_ids(session: Session, caller: Caller, contact_ids: Any, company_ids: Any) -> dict[str, list[str]]:
    """``{"contact_ids": [...], "company_ids": [...]}``: those of the given ids that are contacts
    (companies) of the caller's organisation and not deleted, in the order given."""
    found: dict[str, list[str]] = {}
    for field, model, given in (
        ("contact_ids", Contact, _ids(contact_ids, "contact_ids")),
        ("company_ids", Company, _ids(company_ids, "company_ids")),
    ):
        live: set[str] = set()
        if given:
            live = set(
                session.scalars(
                    select(model.id).where(
                        model.org_id == caller.org_id, model.id.in_(set(given)), model.deleted_at.is_(None)
                    )
                )
            )
        found[field] = [record_id for record_id in dict.fromkeys(given) if record_id in live]
    return found
