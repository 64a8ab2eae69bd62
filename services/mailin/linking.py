"""The contact a received mail is linked to: the sender's (or, for a forward, the original
sender's) contact in the recipient's organisation, with its company, asked of ``contacts``.

A failed lookup (contacts away, a timeout) raises: processing keeps the delivery pending and
tries it again later, backing off, so the mail is neither lost nor stored without the links it
should have had. Nothing found is an answer: the mail is linked to nothing.
"""

from __future__ import annotations

from typing import Any


def find_contact(contacts_rpc: Any, org_id: str, addresses: list[str]) -> dict[str, Any] | None:
    """``{"contact_id", "company_id"}`` for the first of ``addresses`` that is a live contact's
    e-mail in ``org_id`` (``contacts.find_by_emails``), or None."""
    wanted = [address for address in dict.fromkeys(a.strip().lower() for a in addresses) if address]
    if not wanted:
        return None
    found = contacts_rpc.find_by_emails(org_id, wanted)
    if not found:
        return None
    return {"contact_id": found["contact_id"], "company_id": found.get("company_id")}
