"""Dependency providers of the accounts service."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from crm.auth import CallerProvider, PublicKeys, _pem_key
from crm.database import create_service_engine
from crm.settings import Settings
from services.accounts import signing_keys
from services.accounts.signing_keys import ActiveKey


def _load_keys_from_database(config: dict[str, Any]) -> PublicKeys:
    settings: Settings = config["CRM"]
    engine = create_service_engine(settings, "accounts")
    try:
        with Session(engine) as session:
            return {key["kid"]: _pem_key(key["public_key"]) for key in signing_keys.public_keys(session)}
    finally:
        engine.dispose()


class AccountsCaller(CallerProvider):
    """Accounts verifies tokens with the keys in its own database."""

    def __init__(self) -> None:
        # Accounts checks every call against the sessions and users it stores (``_live_user``):
        # it needs no deny state of its own, and it is where the others load theirs from.
        super().__init__(load_keys=_load_keys_from_database, watch_revocations=False)


class TokenSigner(DependencyProvider):
    """Holds the current signing key in memory (decrypting it per call is slow).

    The key is loaded, or made on first start, in its own committed transaction
    so that no token is ever signed by a key that was rolled back.
    """

    def setup(self) -> None:
        settings: Settings = self.container.config["CRM"]
        self.passphrase = settings.auth.key_passphrase
        self.engine = create_service_engine(settings, "accounts")
        self.key: ActiveKey | None = None

    def start(self) -> None:
        self.reload()

    def reload(self) -> ActiveKey:
        with Session(self.engine) as session:
            key = signing_keys.current_key(session, self.passphrase)
            session.commit()
        self.key = key
        return key

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> ActiveKey:
        return self.key or self.reload()
