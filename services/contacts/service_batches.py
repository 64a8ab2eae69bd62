"""The contacts service's batch entrypoints, for callers that write many contacts at once.

A mixin of ``ContactsService``: it uses that class's ``db``, ``caller`` and ``region``.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from services.contacts import contact_batches


class BatchEntrypoints:
    db: Any
    caller: Any
    region: str

    @rpc
    def create_contacts(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Create up to 50 contacts in one transaction, each as ``create_contact`` would (same
        checks, same rights, an id given again with the same content is a replay): ``{"items":
        [...]}`` in the order given, each the contact with ``created``, or ``{"error": ...}``
        for an item refused alone (bad data, an e-mail another contact holds, an id used for
        something else), the others created. Not a list of 1 to 50: ``InvalidInput``, nothing
        created."""
        caller = self.caller.writer()
        items = contact_batches.checked_batch(items)
        return {"items": contact_batches.create_contacts(self.db, caller, items, self.region)}

    @rpc
    def update_contacts(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Change up to 50 contacts in one transaction, each item ``{"id", "changes"}`` as
        ``update_contact(id, changes)`` would (a stale ``version`` in ``changes`` is a conflict):
        ``{"items": [...]}`` in the order given, each the contact as it is now, or ``{"error":
        ...}`` for an item refused alone, the others written. Not a list of 1 to 50:
        ``InvalidInput``, nothing changed."""
        caller = self.caller.writer()
        items = contact_batches.checked_batch(items)
        return {"items": contact_batches.update_contacts(self.db, caller, items, self.region)}
