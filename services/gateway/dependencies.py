"""Dependency providers of the gateway: who is calling, and RPC with deadlines."""

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
