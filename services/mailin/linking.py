"""The contact a received mail is linked to: the sender's (or, for a forward, the original
sender's) contact in the recipient's organisation, with its company, asked of ``contacts``.

A failed lookup (contacts away, a timeout) raises: processing keeps the delivery pending and
tries it again later, backing off, so the mail is neither lost nor stored without the links it
should have had. Nothing found is an answer: the mail is linked to nothing.
"""

from __future__ import annotations

from typing import Any


def find_contacts(contacts_rpc: Any, queries: list[tuple[str, list[str]]]) -> list[dict[str, Any] | None]:
    """For each ``(org_id, addresses)`` of ``queries``: ``{"contact_id", "company_id"}`` for the
    first of ``addresses`` that is a live contact's e-mail in ``org_id``, or None; in one call
    (``contacts.find_many_by_emails``), none when no query has an address."""
    wanted = [
        (org_id, [address for address in dict.fromkeys(a.strip().lower() for a in addresses) if address])
        for org_id, addresses in queries
    ]
    asked = [[org_id, addresses] for org_id, addresses in wanted if addresses]
    answers = iter(contacts_rpc.find_many_by_emails(asked) if asked else [])
    found: list[dict[str, Any] | None] = []
    for _, addresses in wanted:
        answer = next(answers) if addresses else None
        found.append(answer and {"contact_id": answer["contact_id"], "company_id": answer.get("company_id")})
    return found
