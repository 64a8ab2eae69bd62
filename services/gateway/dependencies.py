"""Dependency providers of the gateway: who is calling, RPC with deadlines, remembered preferences."""

from __future__ import annotations

import time
from typing import Any

from crm.auth import ACCESS_TOKEN_KEY, Caller, TokenVerifier, load_keys_over_rpc
from crm.errors import Unauthenticated
from crm.revocation import RevocationWatch
from crm.rpc import RpcClient

API_TOKEN_PREFIX = "crm_"


class Authentication:
    """What a gateway worker sees as ``self.auth``."""

    def __init__(self, provider: Authenticator, worker_ctx: Any):
        self._provider = provider
        self._worker_ctx = worker_ctx

    @property
    def ready(self) -> bool:
        """Whether this process knows which accesses were revoked."""
        return self._provider.verifier.ready

    def caller(self) -> Caller:
        """Verify the bearer token; API tokens are traded for an access token first.

        The access token then travels with every RPC this worker makes.
        """
        token = self._worker_ctx.context_data.get(ACCESS_TOKEN_KEY)
        if not token:
            raise Unauthenticated("send an access token: Authorization: Bearer <token>")
        if token.startswith(API_TOKEN_PREFIX):
            token = self._provider.access_token_for_api_token(token, self._worker_ctx)
            # ``context_data`` is a copy; ``data`` is what RPC calls carry along.
            self._worker_ctx.data[ACCESS_TOKEN_KEY] = token
        return self._provider.verifier.verify(token)

    def caller_with_api_token(self, api_token: str) -> Caller:
        """Verify an API token sent another way than as a bearer token (the password of a CardDAV
        client's HTTP Basic authentication), as ``caller`` does."""
        if not api_token.startswith(API_TOKEN_PREFIX):
            raise Unauthenticated("the password is not an API token")
        self._worker_ctx.data[ACCESS_TOKEN_KEY] = api_token
        return self.caller()


class Authenticator(RpcClient):
    """Verifies bearer tokens; trades API tokens with ``accounts`` (with a deadline).

    A token is checked against this process's deny state too, so a revoked access
    (or a cached exchange of a revoked API token) is refused here at once.
    """

    revocations = RevocationWatch()

    def __init__(self) -> None:
        super().__init__("accounts")

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        settings = config["CRM"]
        self.cache_seconds = settings.auth.api_token_cache_seconds
        self.verifier = TokenVerifier(
            lambda: load_keys_over_rpc(config), settings.auth.issuer, revocations=self.revocations
        )
        self._api_tokens: dict[str, tuple[float, str]] = {}

    def access_token_for_api_token(self, api_token: str, worker_ctx: Any) -> str:
        cached = self._api_tokens.get(api_token)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        issued = self.call(worker_ctx, "exchange_api_token", (api_token,), {})
        ttl = min(self.cache_seconds, max(0, issued["expires_in"] - 60))
        if len(self._api_tokens) > 10_000:
            self._api_tokens.clear()
        self._api_tokens[api_token] = (now + ttl, issued["access_token"])
        return issued["access_token"]

    def get_dependency(self, worker_ctx: Any) -> Authentication:
        return Authentication(self, worker_ctx)


class RememberedPreferences(RpcClient):
    """The caller's preferences (from ``accounts``), kept a few seconds per process: a list
    request without sort would otherwise pay one more RPC (about as much as ``GET /me``) each
    time, and a front end opens several lists at once. A save through this process replaces
    its copy at once; another gateway process may use the old ones for ``KEEP_SECONDS``."""

    KEEP_SECONDS = 5.0

    def __init__(self) -> None:
        super().__init__("accounts")

    def setup(self) -> None:
        super().setup()
        self.kept: dict[str, tuple[float, dict[str, Any]]] = {}

    def read(self, worker_ctx: Any, user_id: str, fresh: bool = False) -> dict[str, Any]:
        found = self.kept.get(user_id)
        if found and found[0] > time.monotonic() and not fresh:
            return found[1]
        return self.keep(user_id, self.call(worker_ctx, "get_my_preferences", (), {}))

    def replace(self, worker_ctx: Any, user_id: str, document: dict[str, Any]) -> dict[str, Any]:
        return self.keep(user_id, self.call(worker_ctx, "replace_my_preferences", (document,), {}))

    def keep(self, user_id: str, document: dict[str, Any]) -> dict[str, Any]:
        if len(self.kept) > 10_000:
            self.kept.clear()
        self.kept[user_id] = (time.monotonic() + self.KEEP_SECONDS, document)
        return document

    def get_dependency(self, worker_ctx: Any) -> PreferencesAccess:
        return PreferencesAccess(self, worker_ctx)


class PreferencesAccess:
    """What a gateway worker sees as ``self.preferences``."""

    def __init__(self, provider: RememberedPreferences, worker_ctx: Any):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def of(self, caller: Caller, fresh: bool = False) -> dict[str, Any]:
        """The caller's preferences; ``fresh`` asks ``accounts`` even if this process kept them."""
        return self._provider.read(self._worker_ctx, caller.user_id, fresh)

    def replace(self, caller: Caller, document: dict[str, Any]) -> dict[str, Any]:
        return self._provider.replace(self._worker_ctx, caller.user_id, document)
