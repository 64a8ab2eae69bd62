"""Users and organisations: the rules behind admin user management and bootstrap."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from crm.auth import ROLE_ADMIN, Caller
from crm.database import UnitOfWork
from crm.errors import Conflict, InvalidInput, field_error
from crm.ids import new_id
from crm.records import check_version, record_of
from crm.times import iso, utcnow
from crm.validation import is_id, money_out
from services.accounts import login_sessions, user_secrets
from services.accounts.exceptions import (
    AlreadyBootstrapped,
    DuplicateEmail,
    LastAdmin,
    UserNotFound,
    WrongPassword,
)
from services.accounts.models import LoginSession, Organisation, User
from services.accounts.passwords import generate_password, hash_password, verify_password
from services.accounts.schemas import Bootstrap, ProfileUpdate, UserCreate, UserUpdate


def user_out(user: Any, viewer: Caller | None = None) -> dict[str, Any]:
    """The user as callers see it; the hourly cost only for admins and the user."""
    shows_cost = viewer is None or viewer.is_admin or viewer.user_id == user.id
    return {
        "id": user.id,
        "org_id": user.org_id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "read_only": user.read_only,
        "hourly_cost": money_out(user.hourly_cost, user.currency) if shows_cost else None,
        "time_zone": user.time_zone,
        "active": user.active,
        "version": user.version,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


_users = User.__table__
_sessions = LoginSession.__table__
# Core rather than ORM: this runs on every authenticated call into accounts.
_LIVE_USER = (
    select(_users, _sessions.c.revoked_at, _sessions.c.expires_at.label("session_expires_at"))
    .join(_sessions, _sessions.c.user_id == _users.c.id)
    .where(_sessions.c.id == bindparam("session_id"), _users.c.id == bindparam("user_id"))
)


def live_user_row(connection: Connection, session_id: str, user_id: str) -> Any:
    """The user joined with the login session, as a row with attribute access."""
    return connection.execute(_LIVE_USER, {"session_id": session_id, "user_id": user_id}).first()


def get_user(session: Session, org_id: str, user_id: str) -> User:
    return record_of(session, User, org_id, user_id, UserNotFound, "user")


def find_by_email(session: Session, email: str, *, lock: bool = False) -> User | None:
    """The user with this e-mail; ``lock`` holds their row until the transaction ends."""
    query = select(User).where(User.email == email.lower())
    return session.scalars(query.with_for_update() if lock else query).first()


def _ensure_email_free(session: Session, email: str, except_id: str | None = None) -> None:
    existing = find_by_email(session, email)
    if existing is not None and existing.id != except_id:
        raise DuplicateEmail(
            f"email: {email} is already used by another user",
            [field_error("email", "already used by another user")],
        )


def _emit(uow: UnitOfWork, event_type: str, user: User, actor_id: str | None) -> None:
    uow.emit(event_type, org_id=user.org_id, actor_id=actor_id, record=user_out(user))


def _record_change(uow: UnitOfWork, user: User, event_type: str, actor_id: str) -> None:
    """Bump the version and announce the change, if anything changed at all."""
    if uow.session.is_modified(user):
        user.version += 1
        user.updated_at = utcnow()
        uow.session.flush()
        _emit(uow, event_type, user, actor_id)


def bootstrap(uow: UnitOfWork, request: Bootstrap) -> tuple[Organisation, User]:
    """Create an organisation and its first admin."""
    session = uow.session
    if find_by_email(session, request.email) is not None:
        raise AlreadyBootstrapped(f"a user with e-mail {request.email} already exists")
    now = utcnow()
    org = Organisation(id=new_id(), name=request.org_name, settings={}, created_at=now, updated_at=now)
    session.add(org)
    session.flush()
    user = _new_user(
        session,
        org.id,
        UserCreate(
            email=request.email,
            name=request.name,
            password=request.password,
            role=ROLE_ADMIN,
            time_zone=request.time_zone,
        ),
        request.password,
    )
    uow.emit(
        "organisation_created",
        org_id=org.id,
        actor_id=None,
        record={"id": org.id, "name": org.name},
    )
    _emit(uow, "user_created", user, None)
    user_secrets.emit_ingest_address(uow, user, None)
    return org, user


def _new_user(session: Session, org_id: str, request: UserCreate, password: str) -> User:
    now = utcnow()
    user = User(
        id=request.id or new_id(),
        org_id=org_id,
        email=request.email,
        name=request.name,
        password_hash=hash_password(password),
        role=request.role,
        read_only=request.read_only,
        hourly_cost=request.hourly_cost.amount if request.hourly_cost else None,
        currency=request.hourly_cost.currency if request.hourly_cost else None,
        time_zone=request.time_zone,
        active=True,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    user_secrets.create_for(session, user)
    return user


def _same_content(user: User, request: UserCreate) -> bool:
    return (
        user.email == request.email
        and user.name == request.name
        and user.role == request.role
        and user.read_only == request.read_only
        and user.time_zone == request.time_zone
        and (user.hourly_cost, user.currency)
        == (
            (request.hourly_cost.amount, request.hourly_cost.currency)
            if request.hourly_cost
            else (None, None)
        )
    )


def create_user(uow: UnitOfWork, admin: Caller, request: UserCreate) -> tuple[User, str | None, bool]:
    """Create a user; returns (user, generated password or None, created?)."""
    session = uow.session
    if request.id is not None:
        existing = session.get(User, request.id)
        if existing is not None:
            if existing.org_id == admin.org_id and _same_content(existing, request):
                return existing, None, False  # idempotent replay of the same create
            raise Conflict(
                f"id: a user with id {request.id} already exists",
                [field_error("id", "already exists with different content")],
            )
    _ensure_email_free(session, request.email)
    generated = None if request.password else generate_password()
    user = _new_user(session, admin.org_id, request, request.password or generated)
    _emit(uow, "user_created", user, admin.user_id)
    user_secrets.emit_ingest_address(uow, user, admin.user_id)
    return user, generated, True


def _writing_admins(session: Session, org_id: str) -> int:
    """Active admins who are not read-only: the ones who can still manage the org."""
    return session.scalar(
        select(func.count()).where(
            User.org_id == org_id,
            User.role == ROLE_ADMIN,
            User.active.is_(True),
            User.read_only.is_(False),
        )
    )


def _keeps_a_writing_admin(session: Session, user: User, *, role: str, read_only: bool, active: bool) -> None:
    """Refuse a change that would leave the organisation without an admin who can write."""
    was_writing_admin = user.role == ROLE_ADMIN and user.active and not user.read_only
    stays_writing_admin = role == ROLE_ADMIN and active and not read_only
    if not was_writing_admin or stays_writing_admin:
        return
    # One such change per organisation at a time (its row locked until the commit): two admins
    # demoting each other at the same moment must not both see the other still there.
    session.execute(select(Organisation.id).where(Organisation.id == user.org_id).with_for_update())
    if _writing_admins(session, user.org_id) <= 1:
        raise LastAdmin("the organisation must keep at least one active admin who is not read-only")


def update_user(uow: UnitOfWork, admin: Caller, user_id: str, request: UserUpdate) -> User:
    session = uow.session
    user = get_user(session, admin.org_id, user_id)
    check_version(user, request.version, "user")
    changes = request.model_dump(exclude_unset=True, exclude={"version", "password"})
    if "email" in changes and changes["email"] is not None:
        _ensure_email_free(session, changes["email"], except_id=user.id)
    _keeps_a_writing_admin(
        session,
        user,
        role=changes.get("role") or user.role,
        read_only=user.read_only if changes.get("read_only") is None else changes["read_only"],
        active=user.active,
    )
    for name in ("email", "name", "role", "read_only", "time_zone"):
        if changes.get(name) is not None:
            setattr(user, name, changes[name])
    if "hourly_cost" in changes:
        cost = request.hourly_cost
        user.hourly_cost = cost.amount if cost else None
        user.currency = cost.currency if cost else None
    if request.password is not None:
        user.password_hash = hash_password(request.password)
        login_sessions.revoke_all_sessions(uow, user.id, admin.user_id)
    _record_change(uow, user, "user_updated", admin.user_id)
    return user


def set_active(uow: UnitOfWork, admin: Caller, user_id: str, active: bool) -> User:
    session = uow.session
    user = get_user(session, admin.org_id, user_id)
    if user.active == active:
        return user
    _keeps_a_writing_admin(session, user, role=user.role, read_only=user.read_only, active=active)
    user.active = active
    user.version += 1
    user.updated_at = utcnow()
    if not active:
        login_sessions.revoke_all_sessions(uow, user.id, admin.user_id)
    session.flush()
    _emit(uow, "user_deactivated" if not active else "user_reactivated", user, admin.user_id)
    user_secrets.emit_ingest_address(uow, user, admin.user_id)
    user_secrets.emit_calendar_token(uow, user, admin.user_id)
    return user


def update_profile(uow: UnitOfWork, caller: Caller, request: ProfileUpdate) -> User:
    session = uow.session
    user = get_user(session, caller.org_id, caller.user_id)
    if request.new_password is not None:
        if request.current_password is None or not verify_password(
            user.password_hash, request.current_password
        ):
            raise WrongPassword(
                "current_password: does not match",
                [field_error("current_password", "does not match the current password")],
            )
        user.password_hash = hash_password(request.new_password)
        # A changed password signs out the other logins: whoever knew the old one is out.
        login_sessions.revoke_other_logins(uow, user.id, caller.session_id)
    elif request.current_password is not None:
        raise InvalidInput(
            "new_password: required with current_password",
            [field_error("new_password", "required when current_password is given")],
        )
    if request.name is not None:
        user.name = request.name
    if request.time_zone is not None:
        user.time_zone = request.time_zone
    _record_change(uow, user, "user_updated", caller.user_id)
    return user


_CURSOR_PREFIX = "users:"


def encode_cursor(user_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{user_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The last user id of the previous page; anything we did not issue is refused."""
    if len(cursor) % 4 == 1:  # not a whole number of bytes: drop the dangling character
        cursor = cursor[:-1]
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode(errors="replace")
    except ValueError:
        decoded = ""
    if not decoded.startswith(_CURSOR_PREFIX) or not is_id(decoded[len(_CURSOR_PREFIX) :]):
        raise InvalidInput("cursor: not a cursor this API returned", [field_error("cursor", "invalid")])
    return decoded[len(_CURSOR_PREFIX) :]


def list_users(
    session: Session, caller: Caller, limit: int, cursor: str | None, include_inactive: bool
) -> dict[str, Any]:
    query = select(User).where(User.org_id == caller.org_id).order_by(User.id).limit(limit + 1)
    if cursor:
        query = query.where(User.id > decode_cursor(cursor))
    if not include_inactive:
        query = query.where(User.active.is_(True))
    users = session.scalars(query).all()
    page = users[:limit]
    return {
        "items": [user_out(user, caller) for user in page],
        "next_cursor": encode_cursor(page[-1].id) if len(users) > limit else None,
    }
