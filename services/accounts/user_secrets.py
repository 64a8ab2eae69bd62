"""Per-user secrets: the personal ingest address and the calendar feed token."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import UnitOfWork
from crm.errors import NotFound
from crm.times import iso, utcnow
from services.accounts.login_sessions import token_hash
from services.accounts.models import User, UserSecrets

_LOCAL_PART_ALPHABET = string.ascii_lowercase + string.digits
INGEST_ADDRESS_CHANGED = "ingest_address_changed"
CALENDAR_TOKEN_CHANGED = "calendar_token_changed"


def new_ingest_local_part() -> str:
    # Lower-case letters and digits only: mail systems may fold case.
    return "u" + "".join(secrets.choice(_LOCAL_PART_ALPHABET) for _ in range(15))


def create_for(session: Session, user: User) -> UserSecrets:
    row = UserSecrets(
        user_id=user.id,
        org_id=user.org_id,
        ingest_local_part=new_ingest_local_part(),
        rotated_at=utcnow(),
    )
    session.add(row)
    return row


def ingest_address_record(row: UserSecrets, user: User) -> dict[str, Any]:
    """What ``ingest_address_changed`` (and ``get_ingest_addresses``) say of one user's address:
    ``changed_at`` orders the address, the user's ``version`` orders the active flag."""
    return {
        "user_id": row.user_id,
        "org_id": row.org_id,
        "local_part": row.ingest_local_part,
        "active": user.active,
        "changed_at": iso(row.rotated_at),
        "version": user.version,
    }


def emit_ingest_address(uow: UnitOfWork, user: User, actor_id: str | None) -> None:
    """Announce the user's ingest address as it is now (made, rotated, user (de)activated)."""
    uow.session.flush()
    row = of_user(uow.session, user.id)
    record = ingest_address_record(row, user)
    uow.emit(INGEST_ADDRESS_CHANGED, org_id=user.org_id, actor_id=actor_id, record=record)


def calendar_token_record(row: UserSecrets, user: User) -> dict[str, Any]:
    """What ``calendar_token_changed`` says of one user's feed token: the SHA-256 of the token that
    opens the feed now (null while the user is deactivated), never the token itself; ``changed_at``
    (the secrets' last rotation) then the user's ``version`` order the records."""
    return {
        "user_id": row.user_id,
        "org_id": row.org_id,
        "token_hash": row.calendar_token_hash if user.active else None,
        "changed_at": iso(row.rotated_at),
        "version": user.version,
    }


def emit_calendar_token(uow: UnitOfWork, user: User, actor_id: str | None) -> None:
    """Announce which token hash opens the user's calendar feed (made or rotated, user
    (de)activated); nothing for a user who never made a token."""
    uow.session.flush()
    row = of_user(uow.session, user.id)
    if row.calendar_token_hash is not None:
        record = calendar_token_record(row, user)
        uow.emit(CALENDAR_TOKEN_CHANGED, org_id=user.org_id, actor_id=actor_id, record=record)


def all_ingest_addresses(session: Session) -> list[dict[str, Any]]:
    """Every user's ingest address with the user's active flag (mailin's start-up snapshot)."""
    rows = session.execute(select(UserSecrets, User).join(User, User.id == UserSecrets.user_id)).all()
    return [ingest_address_record(secrets_row, user) for secrets_row, user in rows]


def of_user(session: Session, user_id: str) -> UserSecrets:
    row = session.get(UserSecrets, user_id)
    if row is None:
        raise NotFound(f"no secrets for user {user_id}")
    return row


def rotate_ingest_address(session: Session, user_id: str) -> str:
    row = of_user(session, user_id)
    row.ingest_local_part = new_ingest_local_part()
    row.rotated_at = utcnow()
    return row.ingest_local_part


def rotate_calendar_token(session: Session, user_id: str) -> str:
    raw = "cal_" + secrets.token_urlsafe(24)
    row = of_user(session, user_id)
    row.calendar_token_hash = token_hash(raw)
    row.rotated_at = utcnow()
    return raw


def resolve_ingest_local_part(session: Session, local_part: str) -> UserSecrets | None:
    """The secrets row of the active user owning this ingest address, if any."""
    return session.scalars(
        select(UserSecrets)
        .join(User, User.id == UserSecrets.user_id)
        .where(UserSecrets.ingest_local_part == local_part.lower(), User.active.is_(True))
    ).first()


def resolve_calendar_token(session: Session, raw: str) -> UserSecrets | None:
    """The secrets row of the active user owning this calendar token, if any."""
    return session.scalars(
        select(UserSecrets)
        .join(User, User.id == UserSecrets.user_id)
        .where(UserSecrets.calendar_token_hash == token_hash(raw), User.active.is_(True))
    ).first()
