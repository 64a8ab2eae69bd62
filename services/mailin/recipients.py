"""Who a recipient address is: a user's ingest address, an unknown one, or another domain.

Decisions are plain functions (``judge``); the one query (``find_ingest_user``)
reads mailin's own copy of the ingest addresses, so the SMTP listener never
calls another service to answer ``RCPT``. ``RecentIngestUsers`` keeps what it
found for a second, so a scanner sending many messages to one address costs
one query a second, not one per ``RCPT``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from services.mailin.models import IngestAddress


@dataclass(frozen=True)
class IngestUser:
    org_id: str
    user_id: str
    active: bool


@dataclass(frozen=True)
class Verdict:
    """What to answer to one ``RCPT TO``: ``user`` is set when it is accepted."""

    reply: str
    user: IngestUser | None = None


def split_address(address: str) -> tuple[str, str]:
    """(local part lower-cased, domain lower-cased); the domain is empty when there is none."""
    local, _, domain = address.strip().rpartition("@")
    if not local:
        return domain.lower(), ""
    return local.lower(), domain.lower().rstrip(".")


def is_ingest_domain(address: str, ingest_domain: str) -> bool:
    return split_address(address)[1] == ingest_domain.lower()


def judge(address: str, ingest_domain: str, user: IngestUser | None) -> Verdict:
    """The reply to ``RCPT TO:<address>`` once its local part was looked up (``user``)."""
    if not is_ingest_domain(address, ingest_domain):
        return Verdict(f"550 5.7.1 <{address}>: relaying denied; only mail for @{ingest_domain} is taken")
    if user is None or not user.active:
        # A deactivated user's address is refused as an unknown one: nothing tells them apart.
        return Verdict(f"550 5.1.1 <{address}>: no such ingest address")
    return Verdict("250 2.1.5 OK", user)


def find_ingest_user(connection: Connection, local_part: str) -> IngestUser | None:
    """The user whose ingest address has this local part, active or not."""
    row = connection.execute(
        select(IngestAddress.org_id, IngestAddress.user_id, IngestAddress.active).where(
            IngestAddress.local_part == local_part.lower()
        )
    ).first()
    return None if row is None else IngestUser(org_id=row.org_id, user_id=row.user_id, active=row.active)


class RecentIngestUsers:
    """Users found by local part in the last ``seconds``: a rotated, deactivated or reactivated
    address is answered as it now is within that long (after mailin applied accounts' event).

    Only found addresses are kept (an unknown one is looked up each time, so one made a moment
    ago is taken at once), at most ``limit`` of them: a full table drops what has expired.
    """

    def __init__(
        self, seconds: float = 1.0, limit: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.seconds = seconds
        self.limit = limit
        self.clock = clock
        self._found: dict[str, tuple[float, IngestUser]] = {}

    def get(self, local_part: str) -> IngestUser | None:
        """The user found for ``local_part`` less than ``seconds`` ago, else None (look it up)."""
        kept = self._found.get(local_part)
        if kept is None or self.clock() - kept[0] >= self.seconds:
            return None
        return kept[1]

    def keep(self, local_part: str, user: IngestUser) -> None:
        now = self.clock()
        if len(self._found) >= self.limit:
            self._found = {key: kept for key, kept in self._found.items() if now - kept[0] < self.seconds}
            if len(self._found) >= self.limit:
                self._found.clear()
        self._found[local_part] = (now, user)
