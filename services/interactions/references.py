"""Users, contacts and companies a request names, checked with the services that own them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.errors import NotFound, invalid
from services.interactions.live_references import LiveIds


def check_links(accounts: Any, live_ids: Callable[[list[str], list[str]], LiveIds], request: Any) -> None:
    """Every user, contact and company ``request`` names (``user_ids``, ``contact_ids``,
    ``company_ids``, when it has them) exists in the caller's organisation, as
    ``accounts`` (RPC client, with the caller's token) and ``live_ids`` (``contacts.live_ids``
    or what this process knows of its answers: ``LiveReferences``) see it; the first that
    does not is ``InvalidInput`` naming ``field.N``. The contacts and companies are checked
    in one call, not one read each."""
    for position, user_id in enumerate(getattr(request, "user_ids", None) or []):
        try:
            accounts.get_user(user_id)
        except NotFound:
            raise invalid(f"user_ids.{position}", f"no user {user_id} in your organisation") from None
    named = {field: getattr(request, field, None) or [] for field in ("contact_ids", "company_ids")}
    if not any(named.values()):
        return
    live = live_ids(named["contact_ids"], named["company_ids"])
    for field, noun in (("contact_ids", "contact"), ("company_ids", "company")):
        known = set(live[field])
        for position, target_id in enumerate(named[field]):
            if target_id not in known:
                raise invalid(f"{field}.{position}", f"no {noun} {target_id} in your organisation")
