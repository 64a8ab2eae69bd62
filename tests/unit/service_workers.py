"""What every service's unit fixture shares: its database, its callers' tokens, and what it wrote.

A service's ``conftest.py`` subclasses ``ServiceWorkers`` and adds ``as_user``
with the collaborators that service needs.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import MetaData, func, select, text

from crm.auth import TokenVerifier
from crm.database import DatabaseAccess, create_service_engine
from crm.settings import Settings
from tests.people import KID, Person

W = TypeVar("W")  # any workers with empty() and close()


def signed_access_token(settings: Settings, signing_key: Ed25519PrivateKey, person: Person) -> str:
    """An access token for ``person``, signed as ``accounts`` signs them (key id ``KID``)."""
    now = int(time.time())
    claims = {
        "iss": settings.auth.issuer,
        "aud": "crm",
        "sub": person.user_id,
        "org": person.org_id,
        "role": person.role,
        "ro": person.read_only,
        "sid": f"session-{person.user_id}",
        "iat": now,
        "exp": now + 900,
    }
    return jwt.encode(claims, signing_key, algorithm="EdDSA", headers={"kid": KID})


class ServiceWorkers:
    """One service's database, a token verifier on the test key, and views of what was written."""

    def __init__(self, settings: Settings, signing_key: Ed25519PrivateKey, service: str, metadata: MetaData):
        self.settings = settings
        self.signing_key = signing_key
        self.metadata = metadata
        self.engine = create_service_engine(settings, service)
        self.db = DatabaseAccess(self.engine, relay=None)
        self.verifier = TokenVerifier(lambda: {KID: signing_key.public_key()}, settings.auth.issuer)

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table, children first (the order TRUNCATE and counts use)."""
        return tuple(table.name for table in reversed(self.metadata.sorted_tables))

    def access_token(self, person: Person) -> str:
        return signed_access_token(self.settings, self.signing_key, person)

    def count(self, table: Any, *where: Any) -> int:
        table = self.metadata.tables[table] if isinstance(table, str) else table
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where))

    def footprint(self, names: tuple[str, ...] | None = None) -> dict[str, int]:
        """How many rows each table holds: a refused call must leave it as it was."""
        return {name: self.count(name) for name in names or self.tables}

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        outbox = self.metadata.tables["outbox"]
        query = select(outbox.c.payload).order_by(outbox.c.created_at, outbox.c.id)
        if event_type is not None:
            query = query.where(outbox.c.event_type == event_type)
        with self.db.read() as session:
            return [row.payload for row in session.execute(query)]

    def empty(self, names: tuple[str, ...] | None = None) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(text(f"TRUNCATE {', '.join(names or self.tables)}"))

    def close(self) -> None:
        self.engine.dispose()


def fresh_workers(
    request: Any,
    tmp_path: Path,
    service: str,
    template_fixture: str,
    build: Callable[[Settings | None], W],
    postgresql_fixture: str = "migrated",
) -> Iterator[W]:
    """Workers of ``service`` over an empty, migrated database of this test's own.

    With TEST_DATABASE_URL, ``build`` gets the settings of the migrated PostgreSQL
    schema (the ``postgresql_fixture``), which is emptied first; otherwise it gets
    None and the migrated SQLite template is copied into ``tmp_path`` for it.
    """
    if os.environ.get("TEST_DATABASE_URL"):
        workers = build(request.getfixturevalue(postgresql_fixture))
        workers.empty()
    else:
        for source in request.getfixturevalue(template_fixture).glob(f"{service}.db*"):
            shutil.copy(source, tmp_path / source.name)
        workers = build(None)
    yield workers
    workers.close()
