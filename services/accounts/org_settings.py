"""The organisation's typed settings document."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import NotFound
from crm.times import utcnow
from services.accounts.models import Organisation
from services.accounts.schemas import OrgSettings, OrgSettingsUpdate


def _organisation(session: Session, org_id: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id}")
    return org


def read(session: Session, org_id: str) -> dict[str, Any]:
    """Stored values over defaults; keys added later get their default."""
    stored = _organisation(session, org_id).settings or {}
    known = {key: value for key, value in stored.items() if key in OrgSettings.model_fields}
    return OrgSettings.model_validate(known).model_dump()


def update(uow: UnitOfWork, admin: Caller, changes: OrgSettingsUpdate) -> dict[str, Any]:
    org = _organisation(uow.session, admin.org_id)
    before = read(uow.session, admin.org_id)
    current = {**before, **changes.model_dump(exclude_none=True)}
    if current != before:
        org.settings = current
        org.updated_at = utcnow()
        uow.emit("org_settings_updated", org_id=org.id, actor_id=admin.user_id, record=current)
    return current
