"""accounts: organisations, users, logins and tokens. Entrypoints only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nameko.dependency_providers import Config
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import Database, once_more_on_conflict
from crm.errors import Forbidden, InvalidInput, field_error
from crm.health import Pingable
from crm.rpc import rpc
from crm.times import aware, utcnow
from crm.validation import validate
from services.accounts import (
    login_sessions,
    login_throttle,
    org_settings,
    preferences,
    revocations,
    signing_keys,
    user_secrets,
    users,
)
from services.accounts.dependencies import AccountsCaller, TokenSigner
from services.accounts.exceptions import (
    ApiTokenNotFound,
    InvalidCredentials,
    SessionRevoked,
    UserNotFound,
)
from services.accounts.models import ApiToken, Base
from services.accounts.passwords import verify_password
from services.accounts.schemas import (
    ApiTokenCreate,
    LoginRequest,
    LogoutRequest,
    OrgSettingsUpdate,
    Preferences,
    ProfileUpdate,
    RefreshRequest,
    UserCreate,
    UserUpdate,
)

SECRET_KINDS = ("ingest_address", "calendar_feed")


class AccountsService(Pingable):
    name = "accounts"

    db = Database(Base.metadata)
    caller = AccountsCaller()
    signing_key = TokenSigner()

    config = Config()

    @property
    def settings(self) -> Any:
        return self.config["CRM"]

    # -- helpers ----------------------------------------------------------

    def _live_caller(self, session: Session) -> Caller:
        """The caller, also checked against the sessions and users we own."""
        return self._live_user(session.connection())[0]

    def _live_user(self, connection: Connection) -> tuple[Caller, Any]:
        """The caller and their user row; a revoked session or inactive user is a 401."""
        caller = self.caller.user()
        found = users.live_user_row(connection, caller.session_id, caller.user_id)
        if found is None or found.revoked_at is not None:
            raise SessionRevoked("this session has been signed out; log in again")
        expires_at = aware(found.session_expires_at)
        if expires_at is not None and expires_at <= utcnow():
            raise SessionRevoked("this session has expired; log in again")
        if not found.active or found.org_id != caller.org_id:
            raise InvalidCredentials("this user is deactivated")
        # Accounts owns role and read-only flag: its own checks use them as stored now.
        return replace(caller, role=found.role, read_only=found.read_only), found

    def _tokens_out(self, user: Any, issued: login_sessions.IssuedTokens) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "refresh_expires_in": issued.refresh_expires_in,
            "user": users.user_out(user),
        }

    # -- internal (service to service, never routed by the gateway) -------

    @rpc
    def get_public_keys(self) -> list[dict[str, Any]]:
        """Public keys that verify access tokens, by key id."""
        with self.db.read() as session:
            return signing_keys.public_keys(session)

    @rpc
    def get_revocations(self) -> dict[str, Any]:
        """Sessions revoked and users whose access changed within an access token's lifetime:
        what a starting process loads so it never accepts what was revoked before it started."""
        with self.db.read() as session:
            return revocations.in_force(session, self.settings.auth)

    @rpc
    def get_org_settings(self, org_id: str) -> dict[str, Any]:
        """The settings document of ``org_id``, defaults filled in."""
        with self.db.read() as session:
            return org_settings.read(session, org_id)

    @rpc
    def resolve_ingest_address(self, local_part: str) -> dict[str, str] | None:
        """Which user an ingest address belongs to, or None."""
        with self.db.read() as session:
            row = user_secrets.resolve_ingest_local_part(session, local_part)
            return {"user_id": row.user_id, "org_id": row.org_id} if row else None

    @rpc
    def get_ingest_addresses(self) -> list[dict[str, Any]]:
        """Every user's ingest address and active flag, as ``ingest_address_changed`` carries them:
        what mailin loads at start (after binding its queue) to answer RCPT from its own table."""
        with self.db.read() as session:
            return user_secrets.all_ingest_addresses(session)

    @rpc
    def resolve_calendar_token(self, token: str) -> dict[str, str] | None:
        """Which user a calendar feed token belongs to, or None."""
        with self.db.read() as session:
            row = user_secrets.resolve_calendar_token(session, token)
            return {"user_id": row.user_id, "org_id": row.org_id} if row else None

    # -- authentication ---------------------------------------------------

    @rpc
    def login(self, credentials: dict[str, Any], client_address: str | None = None) -> dict[str, Any]:
        """Exchange e-mail and password for an access token and a refresh token.

        Failed attempts are counted per account and per address; past the limit
        the answer is ``RateLimited`` whatever the password.
        """
        request = validate(LoginRequest, credentials)
        email = request.email.strip().lower()
        auth = self.settings.auth
        with self.db.transaction() as uow:
            # Attempts on one account go one at a time (its row locked until the commit), so each
            # counts the failures of those before it; in parallel they all passed the limit.
            user = users.find_by_email(uow.session, email, lock=True)
            login_throttle.check_allowed(uow.session, email, client_address, auth)
            accepted = verify_password(user.password_hash if user else None, request.password)
            if not accepted or user is None or not user.active:
                login_throttle.record_failure(uow.session, email, client_address, auth)
                result = None
            else:
                login_throttle.clear_account(uow.session, email)
                issued = login_sessions.start_login(uow.session, self.signing_key, user, client_address, auth)
                result = self._tokens_out(user, issued)
        if result is None:
            raise InvalidCredentials("e-mail or password is wrong, or the user is deactivated")
        return result

    @rpc
    def refresh(self, request: dict[str, Any]) -> dict[str, Any]:
        """Swap a refresh token for a new pair; the old refresh token stops working."""
        data = validate(RefreshRequest, request)
        error = None
        with self.db.transaction() as uow:
            try:
                user, issued = login_sessions.refresh(
                    uow, self.signing_key, data.refresh_token, self.settings.auth
                )
                result = self._tokens_out(user, issued)
            except SessionRevoked as exc:
                error = exc  # keep the revocation the reuse caused
        if error is not None:
            raise error
        return result

    @rpc
    def logout(self, request: dict[str, Any] | None = None) -> None:
        """Revoke the caller's session, and the refresh token's session if given."""
        data = validate(LogoutRequest, request or {})
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session)
            login_sessions.revoke_session(uow, caller.session_id, caller.user_id)
            login_sessions.revoke_api_token_of_session(uow.session, caller.session_id)
            if data.refresh_token:
                login_sessions.revoke_by_refresh_token(uow, data.refresh_token, caller.user_id)

    @rpc
    def exchange_api_token(self, token: str) -> dict[str, Any]:
        """Trade an API token for a short-lived access token."""
        if not isinstance(token, str) or not token.startswith(login_sessions.API_TOKEN_PREFIX):
            raise InvalidCredentials("API token is not valid or was revoked")
        with self.db.transaction() as uow:
            issued = login_sessions.exchange_api_token(
                uow.session, self.signing_key, token, self.settings.auth
            )
        return {"access_token": issued.access_token, "expires_in": issued.expires_in}

    @rpc
    def list_api_tokens(self) -> dict[str, Any]:
        """The caller's API tokens; an admin sees every token of the organisation."""
        with self.db.read() as session:
            caller = self._live_caller(session)
            query = select(ApiToken).where(ApiToken.org_id == caller.org_id)
            if not caller.is_admin:
                query = query.where(ApiToken.user_id == caller.user_id)
            tokens = session.scalars(query.order_by(ApiToken.id)).all()
            return {"items": [login_sessions.api_token_out(token) for token in tokens]}

    @rpc
    def create_api_token(self, request: dict[str, Any]) -> dict[str, Any]:
        """Make an API token acting as the caller; the secret is returned only here."""
        data = validate(ApiTokenCreate, request)
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session).require_writer()
            if login_sessions.is_api_token_session(uow.session, caller.session_id):
                # A leaked token must not be able to breed tokens that outlive its revocation.
                raise Forbidden("an API token cannot make API tokens; log in as the user to make one")
            user = users.get_user(uow.session, caller.org_id, caller.user_id)
            token, raw = login_sessions.create_api_token(uow.session, user, data.name, data.expires_at)
            return {**login_sessions.api_token_out(token), "token": raw}

    @rpc
    def revoke_api_token(self, token_id: str) -> dict[str, Any]:
        """Revoke one of the caller's API tokens (an admin: any of the organisation)."""
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session).require_writer()
            token = login_sessions.revoke_api_token(uow, caller.org_id, token_id, caller.user_id)
            if token.user_id != caller.user_id and not caller.is_admin:
                raise ApiTokenNotFound(f"no API token {token_id}")
            return login_sessions.api_token_out(token)

    # -- the caller's own profile ------------------------------------------

    @rpc
    def get_me(self) -> dict[str, Any]:
        """The calling user as stored now."""
        with self.db.connect() as connection:
            return users.user_out(self._live_user(connection)[1])

    @rpc
    def update_me(self, request: dict[str, Any]) -> dict[str, Any]:
        """Change one's own name, time zone or password; read-only users may not.

        (An admin resets a read-only user's password with ``update_user``.)
        """
        data = validate(ProfileUpdate, request)
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session).require_writer()
            return users.user_out(users.update_profile(uow, caller, data))

    @rpc
    def get_my_secrets(self) -> dict[str, Any]:
        """The caller's ingest address and whether a calendar feed token exists."""
        with self.db.read() as session:
            caller = self._live_caller(session)
            row = user_secrets.of_user(session, caller.user_id)
            return {
                "ingest_address": f"{row.ingest_local_part}@{self.settings.mail.ingest_domain}",
                "calendar_feed_token_set": row.calendar_token_hash is not None,
            }

    @rpc
    def rotate_my_secret(self, kind: str) -> dict[str, Any]:
        """Replace the ingest address or the calendar token; the old one stops working."""
        if kind not in SECRET_KINDS:
            raise InvalidInput(
                f"kind: must be one of {', '.join(SECRET_KINDS)}",
                [field_error("kind", f"must be one of {', '.join(SECRET_KINDS)}")],
            )
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session).require_writer()
            user = users.get_user(uow.session, caller.org_id, caller.user_id)
            if kind == "ingest_address":
                local_part = user_secrets.rotate_ingest_address(uow.session, caller.user_id)
                value = f"{local_part}@{self.settings.mail.ingest_domain}"
                user_secrets.emit_ingest_address(uow, user, caller.user_id)
            else:
                value = user_secrets.rotate_calendar_token(uow.session, caller.user_id)
                user_secrets.emit_calendar_token(uow, user, caller.user_id)
            return {"kind": kind, "value": value}

    @rpc
    def get_my_preferences(self) -> dict[str, Any]:
        """The caller's remembered preferences, defaults filled in (what the gateway reads to
        order a list the request gives no sort for)."""
        with self.db.read() as session:
            caller = self._live_caller(session)
            return preferences.read(session, caller.user_id)

    @rpc
    def replace_my_preferences(self, request: dict[str, Any]) -> dict[str, Any]:
        """Replace the caller's whole preferences document; keys left out take their defaults.

        A read-only user may: preferences change how the CRM is shown to them, no CRM data.
        No event: no other service keeps them.
        """
        data = validate(Preferences, request)
        with self.db.transaction() as uow:
            caller = self._live_caller(uow.session)
            return preferences.replace(uow.session, caller, data)

    # -- user management ----------------------------------------------------

    @rpc
    def list_users(
        self, limit: int = 50, cursor: str | None = None, include_inactive: bool = False
    ) -> dict[str, Any]:
        """Users of the caller's organisation, by id, a page at a time."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
            raise InvalidInput("limit: must be between 1 and 200", [field_error("limit", "must be 1 to 200")])
        with self.db.read() as session:
            caller = self._live_caller(session)
            return users.list_users(session, caller, limit, cursor, include_inactive and caller.is_admin)

    @rpc
    def get_user(self, user_id: str) -> dict[str, Any]:
        """One user of the caller's organisation; another organisation's is not found."""
        with self.db.read() as session:
            caller = self._live_caller(session)
            user = users.get_user(session, caller.org_id, user_id)
            if not user.active and not caller.is_admin:
                raise UserNotFound(f"no user {user_id}")
            return users.user_out(user, caller)

    @rpc
    def create_user(self, request: dict[str, Any]) -> dict[str, Any]:
        """Admin only: add a user. A generated password is returned once."""
        data = validate(UserCreate, request)

        def create() -> dict[str, Any]:
            with self.db.transaction() as uow:
                admin = self._live_caller(uow.session).require_admin().require_writer()
                user, generated, created = users.create_user(uow, admin, data)
                return {**users.user_out(user), "initial_password": generated, "created": created}

        # The same e-mail or id created at the same moment: the second is a conflict or a replay.
        return once_more_on_conflict(create)

    @rpc
    def update_user(self, user_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Admin only: change role, read-only flag, hourly cost, name, e-mail, time zone."""
        data = validate(UserUpdate, request)
        with self.db.transaction() as uow:
            admin = self._live_caller(uow.session).require_admin().require_writer()
            return users.user_out(users.update_user(uow, admin, user_id, data))

    @rpc
    def set_user_active(self, user_id: str, active: bool) -> dict[str, Any]:
        """Admin only: deactivate (signs the user out everywhere) or reactivate."""
        with self.db.transaction() as uow:
            admin = self._live_caller(uow.session).require_admin().require_writer()
            return users.user_out(users.set_active(uow, admin, user_id, bool(active)))

    # -- organisation settings ----------------------------------------------

    @rpc
    def get_settings(self) -> dict[str, Any]:
        """The caller's organisation settings."""
        with self.db.read() as session:
            caller = self._live_caller(session)
            return org_settings.read(session, caller.org_id)

    @rpc
    def update_settings(self, request: dict[str, Any]) -> dict[str, Any]:
        """Admin only: change organisation settings."""
        data = validate(OrgSettingsUpdate, request)
        with self.db.transaction() as uow:
            admin = self._live_caller(uow.session).require_admin().require_writer()
            return org_settings.update(uow, admin, data)
