"""Access-token verification, caller identity and the read-only / admin guards.

The gateway puts the caller's access token into the nameko context data under
``access_token``; nameko carries it along every RPC call, and each service
verifies it here with the public keys that ``accounts`` publishes, then checks
it against what was revoked since it was issued (``crm.revocation``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from nameko.extensions import DependencyProvider

from crm.errors import AdminOnly, ReadOnlyUser, ServiceUnavailable, Unauthenticated
from crm.revocation import RevocationWatch

log = logging.getLogger(__name__)

ACCESS_TOKEN_KEY = "access_token"
TOKEN_AUDIENCE = "crm"
TOKEN_ALGORITHM = "EdDSA"
ROLE_ADMIN = "admin"
ROLE_MEMBER = "member"

PublicKeys = dict[str, Any]  # kid -> public key object


@dataclass(frozen=True)
class Caller:
    """The verified user behind a call."""

    user_id: str
    org_id: str
    role: str
    read_only: bool
    session_id: str
    expires_at: int
    # The user's version when the token was issued, or that of a later change this process
    # heard of (``crm.revocation``: its role, read-only and active flags override the token's).
    # Every change of the user (name and time zone too) makes a new version, so what accounts
    # answers about the caller may be kept under (user_id, user_version).
    user_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    def require_writer(self) -> Caller:
        if self.read_only:
            raise ReadOnlyUser("read-only users can read but not change anything")
        return self

    def require_admin(self) -> Caller:
        if not self.is_admin:
            raise AdminOnly("only an admin of the organisation may do this")
        return self


def load_public_key(pem: str) -> Any:
    return jwt.algorithms.OKPAlgorithm.from_jwk(pem) if pem.startswith("{") else _pem_key(pem)


def _pem_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem.encode())


class TokenVerifier:
    """Verifies access tokens against a refreshable set of public keys."""

    def __init__(
        self,
        load_keys: Callable[[], PublicKeys],
        issuer: str,
        min_refresh_interval: float = 5.0,
        revocations: RevocationWatch | None = None,
    ):
        self._load_keys = load_keys
        self._issuer = issuer
        self._revocations = revocations
        self._keys: PublicKeys = {}
        self._refreshed_at = 0.0
        self._min_refresh_interval = min_refresh_interval
        # Verified tokens, so a token seen again skips the signature check.
        self._verified: dict[str, Caller] = {}

    @property
    def ready(self) -> bool:
        """Whether this process knows what was revoked (and so can admit anyone)."""
        return self._revocations is None or self._revocations.loaded

    def _key_for(self, kid: str | None) -> Any:
        if kid is None:
            raise Unauthenticated("access token has no key id")
        if kid not in self._keys and time.monotonic() - self._refreshed_at > self._min_refresh_interval:
            try:
                self._keys = dict(self._load_keys())
            except Exception as exc:
                # Not remembered as a refresh: the next call tries again.
                log.warning("cannot load token signing keys: %s", exc)
                raise ServiceUnavailable("cannot load token signing keys, try again") from exc
            self._refreshed_at = time.monotonic()
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("access token is signed by an unknown key") from None

    def verify(self, token: str | None) -> Caller:
        if not token:
            raise Unauthenticated("an access token is required")
        caller = self._verified.get(token)
        if caller is None or caller.expires_at <= time.time():
            caller = self._verify_signed(token)
            if len(self._verified) >= 10_000:
                self._verified.clear()
            self._verified[token] = caller
        if self._revocations is not None:
            return self._revocations.admit(caller)
        return caller

    def _verify_signed(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("access token is malformed") from None
        if header.get("alg") != TOKEN_ALGORITHM:
            raise Unauthenticated("access token uses an unsupported algorithm")
        key = self._key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[TOKEN_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "org", "sid"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token has expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("access token signature is invalid") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"access token is invalid: {exc}") from None
        return Caller(
            user_id=str(claims["sub"]),
            org_id=str(claims["org"]),
            role=str(claims.get("role", ROLE_MEMBER)),
            read_only=bool(claims.get("ro", False)),
            session_id=str(claims["sid"]),
            expires_at=int(claims["exp"]),
            user_version=_int_claim(claims.get("uv")),
        )


def _int_claim(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class CallerAccess:
    """What a worker sees as ``self.caller``: verifies lazily, once per worker."""

    def __init__(self, verifier: TokenVerifier, context_data: dict[str, Any]):
        self._verifier = verifier
        self._token = context_data.get(ACCESS_TOKEN_KEY)
        self._caller: Caller | None = None

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    @property
    def ready(self) -> bool:
        return self._verifier.ready

    def user(self) -> Caller:
        if self._caller is None:
            self._caller = self._verifier.verify(self._token)
        return self._caller

    def writer(self) -> Caller:
        return self.user().require_writer()

    def admin(self) -> Caller:
        return self.user().require_admin()

    def admin_writer(self) -> Caller:
        return self.user().require_admin().require_writer()


def load_keys_over_rpc(config: dict[str, Any], timeout: float = 5.0) -> PublicKeys:
    """Ask ``accounts`` for the public keys that verify access tokens."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy(config, timeout=timeout) as cluster:
        published = cluster.accounts.get_public_keys()
    return {entry["kid"]: _pem_key(entry["public_key"]) for entry in published}


class CallerProvider(DependencyProvider):
    """Dependency giving each worker the verified caller of the current call."""

    def __init__(
        self,
        load_keys: Callable[[dict[str, Any]], PublicKeys] | None = None,
        load_revocations: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        watch_revocations: bool = True,
    ):
        self._load_keys = load_keys or load_keys_over_rpc
        self.verifier: TokenVerifier | None = None
        # This process's deny state (``crm.revocation``), a queue of its own feeding it.
        self.revocations = RevocationWatch(load_revocations) if watch_revocations else None

    def setup(self) -> None:
        config = self.container.config
        settings = config["CRM"]
        self.verifier = TokenVerifier(
            lambda: self._load_keys(config),
            settings.auth.issuer,
            revocations=self.revocations,
        )

    def get_dependency(self, worker_ctx: Any) -> CallerAccess:
        return CallerAccess(self.verifier, worker_ctx.context_data)
