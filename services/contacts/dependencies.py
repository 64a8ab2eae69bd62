"""The contacts service's own dependency providers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nameko.extensions import DependencyProvider

from crm.errors import RateLimited


class ImportSlots:
    """How many imports each organisation runs in this process, and at most how many.

    An import beyond the limit is refused at once (429), not queued: a waiting call
    would still hold one of the service's workers, and enough of them would leave
    none for another organisation's reads.
    """

    def __init__(self) -> None:
        self.running: Counter[str] = Counter()

    @contextmanager
    def hold(self, org_id: str, limit: int) -> Iterator[None]:
        if self.running[org_id] >= limit:
            raise RateLimited(
                f"this organisation already runs {limit} vCard import(s); try again when it ends",
                retry_after=5,
            )
        self.running[org_id] += 1
        try:
            yield
        finally:
            self.running[org_id] -= 1
            if not self.running[org_id]:
                del self.running[org_id]


class ImportSlotsProvider(DependencyProvider):
    """One ``ImportSlots`` per service container, shared by its workers (green threads)."""

    def setup(self) -> None:
        self.slots = ImportSlots()

    def get_dependency(self, worker_ctx: Any) -> ImportSlots:
        return self.slots
