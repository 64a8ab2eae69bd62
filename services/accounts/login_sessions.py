"""Logins, refresh-token rotation, logout and API tokens.

A login session is what a refresh token renews and what logout revokes; an API
token owns one too. Access tokens name their session (``sid``) and carry the
user's version (``uv``). Every revocation goes through ``_revoke``, which
announces it (``sessions_revoked``) so that every service process refuses the
session's tokens within a second (``crm.revocation``), not only accounts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm.auth import TOKEN_ALGORITHM, TOKEN_AUDIENCE
from crm.database import UnitOfWork
from crm.errors import Unauthenticated
from crm.ids import new_id
from crm.records import record_of
from crm.revocation import SESSIONS_REVOKED
from crm.settings import AuthSettings
from crm.times import aware, iso, utcnow
from services.accounts.exceptions import ApiTokenNotFound, SessionRevoked
from services.accounts.models import ApiToken, LoginSession, RefreshToken, User
from services.accounts.signing_keys import ActiveKey

API_TOKEN_PREFIX = "crm_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str | None
    refresh_expires_in: int | None


def access_token(key: ActiveKey, user: User, session_id: str, auth: AuthSettings) -> str:
    now = utcnow()
    claims = {
        "iss": auth.issuer,
        "aud": TOKEN_AUDIENCE,
        "sub": user.id,
        "org": user.org_id,
        "role": user.role,
        "ro": user.read_only,
        "sid": session_id,
        "uv": user.version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=auth.access_token_ttl_seconds)).timestamp()),
        "jti": new_id(),
    }
    return jwt.encode(claims, key.private_key, algorithm=TOKEN_ALGORITHM, headers={"kid": key.kid})


def _new_refresh_token(session: Session, session_id: str, auth: AuthSettings) -> str:
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            token_hash=token_hash(raw),
            session_id=session_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=auth.refresh_token_ttl_seconds),
        )
    )
    return raw


def start_login(
    session: Session, key: ActiveKey, user: User, client_address: str | None, auth: AuthSettings
) -> IssuedTokens:
    login = LoginSession(
        id=new_id(),
        org_id=user.org_id,
        user_id=user.id,
        kind="login",
        client_address=client_address,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(seconds=auth.refresh_token_ttl_seconds),
    )
    session.add(login)
    session.flush()
    return IssuedTokens(
        access_token=access_token(key, user, login.id, auth),
        expires_in=auth.access_token_ttl_seconds,
        refresh_token=_new_refresh_token(session, login.id, auth),
        refresh_expires_in=auth.refresh_token_ttl_seconds,
    )


def active_session(session: Session, session_id: str) -> LoginSession:
    login = session.get(LoginSession, session_id)
    if login is None or login.revoked_at is not None:
        raise SessionRevoked("this session has been signed out; log in again")
    expires_at = aware(login.expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise SessionRevoked("this session has expired; log in again")
    return login


def refresh(uow: UnitOfWork, key: ActiveKey, raw: str, auth: AuthSettings) -> tuple[User, IssuedTokens]:
    """Swap a refresh token for a new pair; a reused token revokes its session."""
    session = uow.session
    stored = session.get(RefreshToken, token_hash(raw))
    if stored is None:
        raise Unauthenticated("refresh token is not valid")
    login = session.get(LoginSession, stored.session_id)
    if stored.used_at is not None:
        # Someone replays a token that was already exchanged: assume theft.
        if login is not None:
            _revoke(uow, [login], actor_id=None)
        raise SessionRevoked("refresh token was already used; the session is now signed out")
    if aware(stored.expires_at) <= utcnow():
        raise Unauthenticated("refresh token has expired")
    login = active_session(session, stored.session_id)
    user = session.get(User, login.user_id)
    if user is None or not user.active:
        raise Unauthenticated("this user is deactivated")
    # Claimed by one conditional UPDATE: of two exchanges of one token at the same moment,
    # the second waits for the first, finds the token used, and is a replay.
    claimed = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == stored.token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        _revoke(uow, [login], actor_id=None)
        raise SessionRevoked("refresh token was already used; the session is now signed out")
    return user, IssuedTokens(
        access_token=access_token(key, user, login.id, auth),
        expires_in=auth.access_token_ttl_seconds,
        refresh_token=_new_refresh_token(session, login.id, auth),
        refresh_expires_in=auth.refresh_token_ttl_seconds,
    )


def _revoke(uow: UnitOfWork, logins: list[LoginSession], actor_id: str | None) -> None:
    """Sign ``logins`` out, and announce it so every service refuses their tokens at once.

    Every revocation of a session goes through here: one missed announcement would
    leave its access tokens working outside accounts until they expire.
    """
    now = utcnow()
    revoked: dict[tuple[str, str], list[str]] = {}
    for login in logins:
        if login.revoked_at is None:
            login.revoked_at = now
            revoked.setdefault((login.org_id, login.user_id), []).append(login.id)
    for (org_id, user_id), session_ids in revoked.items():
        uow.emit(
            SESSIONS_REVOKED,
            org_id=org_id,
            actor_id=actor_id,
            record={"user_id": user_id, "session_ids": session_ids, "revoked_at": now.isoformat()},
        )


def revoke_session(uow: UnitOfWork, session_id: str, actor_id: str | None) -> None:
    login = uow.session.get(LoginSession, session_id)
    if login is not None:
        _revoke(uow, [login], actor_id)


def revoke_by_refresh_token(uow: UnitOfWork, raw: str, user_id: str) -> None:
    stored = uow.session.get(RefreshToken, token_hash(raw))
    if stored is None:
        return
    login = uow.session.get(LoginSession, stored.session_id)
    if login is not None and login.user_id == user_id:
        _revoke(uow, [login], user_id)


def revoke_other_logins(uow: UnitOfWork, user_id: str, keep_session_id: str) -> None:
    """Sign out every login of ``user_id`` but ``keep_session_id`` (API tokens stay)."""
    logins = uow.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user_id,
            LoginSession.kind == "login",
            LoginSession.id != keep_session_id,
            LoginSession.revoked_at.is_(None),
        )
    ).all()
    _revoke(uow, list(logins), user_id)


def is_api_token_session(session: Session, session_id: str) -> bool:
    login = session.get(LoginSession, session_id)
    return login is not None and login.kind == "api_token"


def revoke_all_sessions(uow: UnitOfWork, user_id: str, actor_id: str) -> None:
    """Sign ``user_id`` out everywhere: logins and API tokens."""
    session = uow.session
    logins = session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    ).all()
    _revoke(uow, list(logins), actor_id)
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now


def create_api_token(
    session: Session, user: User, name: str, expires_at: datetime | None
) -> tuple[ApiToken, str]:
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    login = LoginSession(
        id=new_id(),
        org_id=user.org_id,
        user_id=user.id,
        kind="api_token",
        created_at=now,
        expires_at=expires_at,
    )
    token = ApiToken(
        id=new_id(),
        org_id=user.org_id,
        user_id=user.id,
        session_id=login.id,
        name=name,
        token_hash=token_hash(raw),
        prefix=raw[: len(API_TOKEN_PREFIX) + 6],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(login)
    session.flush()
    session.add(token)
    session.flush()
    return token, raw


def exchange_api_token(session: Session, key: ActiveKey, raw: str, auth: AuthSettings) -> IssuedTokens:
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(raw))).first()
    if token is None or token.revoked_at is not None:
        raise Unauthenticated("API token is not valid or was revoked")
    if token.expires_at is not None and aware(token.expires_at) <= utcnow():
        raise Unauthenticated("API token has expired")
    active_session(session, token.session_id)
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the owner of this API token is deactivated")
    token.last_used_at = utcnow()
    return IssuedTokens(
        access_token=access_token(key, user, token.session_id, auth),
        expires_in=auth.access_token_ttl_seconds,
        refresh_token=None,
        refresh_expires_in=None,
    )


def revoke_api_token_of_session(session: Session, session_id: str) -> None:
    for token in session.scalars(
        select(ApiToken).where(ApiToken.session_id == session_id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = utcnow()


def revoke_api_token(uow: UnitOfWork, org_id: str, token_id: str, actor_id: str) -> ApiToken:
    token = record_of(uow.session, ApiToken, org_id, token_id, ApiTokenNotFound, "API token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        revoke_session(uow, token.session_id, actor_id)
    return token


def api_token_out(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }
