"""Delivery preferences: in-app always, an e-mail copy when the user asks for one.

A user without a row has the defaults (no e-mail copy), so nothing needs to be
created when a user joins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.times import utcnow
from services.notifier.models import DeliveryPreference
from services.notifier.schemas import DeliveryPreferencesUpdate


def email_copy(session: Session, org_id: str, user_id: str) -> bool:
    """Whether ``user_id`` wants an e-mail copy of each notification."""
    wanted = session.scalar(
        select(DeliveryPreference.email_copy).where(
            DeliveryPreference.org_id == org_id, DeliveryPreference.user_id == user_id
        )
    )
    return bool(wanted)


def preferences_out(wants_email_copy: bool) -> dict[str, Any]:
    return {"in_app": True, "email_copy": wants_email_copy}


def get(session: Session, caller: Caller) -> dict[str, Any]:
    return preferences_out(email_copy(session, caller.org_id, caller.user_id))


def update(session: Session, caller: Caller, request: DeliveryPreferencesUpdate) -> dict[str, Any]:
    """Set the caller's preferences; one upsert, so concurrent first updates cannot clash."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = {"email_copy": request.email_copy, "updated_at": utcnow()}
    session.execute(
        insert(DeliveryPreference)
        .values(org_id=caller.org_id, user_id=caller.user_id, **values)
        .on_conflict_do_update(index_elements=["org_id", "user_id"], set_=values)
    )
    return preferences_out(request.email_copy)
