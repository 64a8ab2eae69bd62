"""Contacts and companies this process has seen live, so that linking them again needs no RPC.

An interaction names contacts and companies that ``contacts`` owns; each must be a live one
of the caller's organisation (``contacts.live_ids``). A contact or company stops being live
only when it is archived, which ``contacts`` announces (``contact_deleted``,
``company_deleted``; a purge comes after an archive). So a process may keep the ids
``live_ids`` confirmed, as long as it hears those announcements: it forgets an id when its
archive is announced, forgets everything when it stops hearing them (the broker lost), and
keeps nothing it was told while it was not listening or while an archive arrived.

An archive is then known here as soon as its event arrives (milliseconds after its commit),
as an RPC made just before the archive committed would not have known it either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.lru import Lru

ARCHIVE_EVENTS = {"contact_deleted": "contact", "company_deleted": "company"}
KEPT = 100_000
LiveIds = dict[str, list[str]]  # {"contact_ids": [...], "company_ids": [...]}


class LiveReferences:
    """The contact and company ids of each organisation known live, while archives are heard."""

    def __init__(self, budget: int = KEPT):
        self._known: Lru[tuple[str, str, str], bool] = Lru(budget)
        self.listening = False
        self._generation = 0  # moves on with every archive heard and every start or stop of listening

    def heard(self, event_type: str, payload: dict[str, Any]) -> None:
        """An event of ``contacts`` arrived: an archived contact or company is forgotten."""
        kind = ARCHIVE_EVENTS.get(event_type)
        if kind is None:
            return
        self._generation += 1
        self._known.pop((payload["org_id"], kind, payload["record"]["id"]))

    def listen(self, listening: bool) -> None:
        """Archives are heard from now on (``True``), or may be missed from now on: forget all."""
        self.listening = listening
        self._generation += 1
        if not listening:
            self._known.clear()

    def live_ids(
        self,
        org_id: str,
        contact_ids: list[str],
        company_ids: list[str],
        ask: Callable[[list[str], list[str]], LiveIds],
    ) -> LiveIds:
        """Which of the ids are live contacts and companies of ``org_id``: those known here, and
        what ``ask`` (``contacts.live_ids`` with the caller's token) says of the others."""
        named = {"contact": contact_ids, "company": company_ids}
        known = self._known
        unknown = {
            kind: [i for i in ids if known.get((org_id, kind, i)) is None] for kind, ids in named.items()
        }
        answer: LiveIds = {"contact_ids": [], "company_ids": []}
        if any(unknown.values()):
            generation, listening = self._generation, self.listening
            answer = ask(unknown["contact"], unknown["company"])
            # Kept only if archives were heard all along the call and none arrived meanwhile.
            if listening and generation == self._generation:
                for kind in named:
                    for target_id in answer[f"{kind}_ids"]:
                        self._known[(org_id, kind, target_id)] = True
        live = {kind: set(answer[f"{kind}_ids"]) for kind in named}
        return {
            f"{kind}_ids": [i for i in ids if i in live[kind] or i not in unknown[kind]]
            for kind, ids in named.items()
        }
