"""Connecting a user's Google account: the authorization URL with its state, the callback that
trades the code for a refresh token, the connection as the user sees it, and disconnecting.

The job runs in the background, with no user request behind it, yet writes
contacts as the user (with the user's rights, so a read-only user cannot):
connecting makes a CRM API token for the user ("Google Contacts sync", in the
user's list of tokens), kept encrypted like the refresh token; each run trades
it for an access token. Revoking it, or deactivating the user, stops the sync.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.times import iso, utcnow
from providers import google_contacts as google
from services.sync.google import secrets as token_box
from services.sync.google.exceptions import GoogleAuthorizationFailed, GoogleNotConnected, GoogleUnreachable
from services.sync.google.models import GoogleConnection, GoogleLink, GoogleRun
from services.sync.google.runs import open_run, run_out

STATE_MINUTES = 10
API_TOKEN_NAME = "Google Contacts sync"


@dataclass(frozen=True)
class GoogleSetup:
    """What connecting needs of the settings: Google's addresses and the OAuth client."""

    endpoints: google.GoogleEndpoints
    client_id: str
    client_secret: str
    redirect_uri: str
    group_name: str
    timeout: float


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def start(
    session: Session,
    caller: Caller,
    setup: GoogleSetup,
    box: Fernet,
    make_api_token: Callable[[], dict[str, Any]],
    login_hint: str | None,
) -> dict[str, Any]:
    """A new authorization for the caller: the URL to send the browser to. Connecting again keeps
    what was synced (and the CRM API token); the new grant replaces the old at the callback."""
    now = utcnow()
    state = secrets.token_urlsafe(32)
    connection = session.get(GoogleConnection, caller.user_id, with_for_update=True)
    if connection is None:
        made = make_api_token()
        connection = GoogleConnection(
            user_id=caller.user_id,
            org_id=caller.org_id,
            status="authorizing",
            crm_token=token_box.encrypt(box, made["token"]),
            crm_token_id=made["id"],
            group_name=setup.group_name,
            crm_seq=0,
            created_at=now,
        )
        session.add(connection)
    connection.state_hash = state_hash(state)
    connection.state_expires_at = now + timedelta(minutes=STATE_MINUTES)
    connection.updated_at = now
    url = google.authorization_url(setup.endpoints, setup.client_id, setup.redirect_uri, state, login_hint)
    return {"authorization_url": url, "state_expires_at": iso(connection.state_expires_at)}


def finish(
    session: Session, setup: GoogleSetup, box: Fernet, code: str | None, state: str, error: str | None
) -> tuple[dict[str, Any], GoogleRun | None]:
    """Google's callback: trade the code for a refresh token and queue the first run. Returns the
    answer and the run to announce."""
    connection = session.scalars(
        select(GoogleConnection).where(GoogleConnection.state_hash == state_hash(state)).with_for_update()
    ).first()
    now = utcnow()
    if connection is None or connection.state_expires_at is None or connection.state_expires_at < now:
        raise GoogleAuthorizationFailed(
            "this authorization is unknown or expired: start connecting Google again"
        )
    connection.state_hash = connection.state_expires_at = None
    connection.updated_at = now
    if error or not code:
        return {"status": "refused", "reason": error or "no authorization code"}, None
    try:
        grant = google.exchange_code(
            setup.endpoints, setup.client_id, setup.client_secret, code, setup.redirect_uri, setup.timeout
        )
    except google.GoogleAccessRevoked as refused:
        raise GoogleAuthorizationFailed(f"{refused.reason}; start connecting Google again") from None
    except google.GoogleError as failed:
        raise GoogleUnreachable(f"{failed.reason}; try connecting again shortly") from None
    connection.refresh_token = token_box.encrypt(box, grant.refresh_token)
    connection.status = "connected"
    connection.connected_at = now
    # Another Google account may stand behind the new grant: list it whole at the next run.
    connection.sync_token = None
    connection.group_resource_name = None
    connection.last_error_code = connection.last_error = connection.last_error_at = None
    connection.next_run_at = now
    run, _ = open_run(session, connection, "connect")
    return {"status": "connected", "run": run_out(run)}, run


def connection_of(session: Session, user_id: str) -> GoogleConnection:
    connection = session.get(GoogleConnection, user_id)
    if connection is None:
        raise GoogleNotConnected("you have not connected a Google account")
    return connection


def connection_out(session: Session, connection: GoogleConnection) -> dict[str, Any]:
    latest = session.scalars(
        select(GoogleRun)
        .where(GoogleRun.user_id == connection.user_id)
        .order_by(GoogleRun.created_at.desc())
        .limit(1)
    ).first()
    linked = session.scalar(
        select(GoogleLink.contact_id).where(GoogleLink.user_id == connection.user_id).limit(1)
    )
    return {
        "status": connection.status,
        "group_name": connection.group_name,
        "connected_at": iso(connection.connected_at),
        "last_success_at": iso(connection.last_success_at),
        "last_error_code": connection.last_error_code,
        "last_error": connection.last_error,
        "last_error_at": iso(connection.last_error_at),
        "next_run_at": iso(connection.next_run_at),
        "has_links": linked is not None,
        "latest_run": run_out(latest) if latest is not None else None,
    }


def disconnect(session: Session, user_id: str) -> tuple[str, str | None]:
    """Forget the connection and its links (the contacts stay on both sides); returns the CRM API
    token's id to revoke and the refresh token to revoke at Google (encrypted)."""
    connection = connection_of(session, user_id)
    token_id, refresh_token = connection.crm_token_id, connection.refresh_token
    session.execute(delete(GoogleLink).where(GoogleLink.user_id == user_id))
    for run in session.scalars(
        select(GoogleRun).where(GoogleRun.user_id == user_id, GoogleRun.status.in_(("queued", "running")))
    ):
        run.status, run.error_code, run.error = "failed", "disconnected", "the user disconnected Google"
        run.finished_at = utcnow()
    session.delete(connection)
    return token_id, refresh_token
