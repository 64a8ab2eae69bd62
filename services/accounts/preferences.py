"""A user's remembered preferences: one typed document per user, replaced whole."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.times import utcnow
from services.accounts.models import UserPreferences
from services.accounts.schemas import Preferences


def defaults() -> dict[str, Any]:
    return Preferences().model_dump()


def read(session: Session, user_id: str) -> dict[str, Any]:
    """The stored document over the defaults. A part that no longer validates (a sort field
    since removed) falls back to its default rather than failing every list the user opens."""
    row = session.get(UserPreferences, user_id)
    return document_from(row.document if row else {})


def document_from(stored: dict[str, Any]) -> dict[str, Any]:
    document = defaults()
    for key, value in stored.items():
        if key not in Preferences.model_fields:
            continue
        try:
            part = Preferences.model_validate({key: value}).model_dump()[key]
        except ValidationError:
            continue
        document[key] = part
    return document


def replace(session: Session, caller: Caller, new: Preferences) -> dict[str, Any]:
    """Store ``new`` as the caller's whole document (keys left out take their defaults)."""
    document = new.model_dump()
    row = session.get(UserPreferences, caller.user_id)
    if row is None:
        row = UserPreferences(user_id=caller.user_id, org_id=caller.org_id, document=document)
        session.add(row)
    row.document = document
    row.updated_at = utcnow()
    return document
