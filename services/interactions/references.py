"""Users, contacts and companies a request names, checked with the services that own them."""

from __future__ import annotations

from typing import Any

from crm.errors import NotFound, invalid


def check_links(accounts: Any, contacts: Any, request: Any) -> None:
    """Every user, contact and company ``request`` names (``user_ids``, ``contact_ids``,
    ``company_ids``, when it has them) exists in the caller's organisation, as
    ``accounts`` and ``contacts`` (RPC clients, with the caller's token) see it;
    the first that does not is ``InvalidInput`` naming ``field.N``."""
    lookups = (
        ("user_ids", accounts.get_user, "user"),
        ("contact_ids", contacts.get_contact, "contact"),
        ("company_ids", contacts.get_company, "company"),
    )
    for field, lookup, noun in lookups:
        for position, target_id in enumerate(getattr(request, field, None) or []):
            try:
                lookup(target_id)
            except NotFound:
                raise invalid(f"{field}.{position}", f"no {noun} {target_id} in your organisation") from None
