"""The folded text a search matches: lower-cased, accents removed, one space between words.

"Pomme Siège Central" becomes "pomme siege central", so "siege" and "SIÈGE"
both find it. Phones are there as digits, in international and national form.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from typing import Any

from services.contacts import phones


def fold(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():  # nothing to decompose, and casefold is lower: the common case, made cheap
        return " ".join(text.lower().split())
    return _fold_unicode(text)


@functools.lru_cache(maxsize=16384)  # names and companies come back row after row in an import
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def _join(parts: Iterable[str | None]) -> str:
    seen: dict[str, None] = {}
    for part in parts:
        folded = fold(part)
        if folded:
            seen.setdefault(folded, None)
    return " ".join(seen)


def company_text(company: Any) -> str:
    return _join(
        [company.name, company.group_name, company.email, *phones.searchable_forms(company.phone_e164)]
    )


def contact_text(contact: Any, current: Iterable[tuple[Any, Any]]) -> str:
    """``current`` holds the contact's current (employment, company) pairs."""
    parts: list[str | None] = [contact.first_name, contact.last_name, contact.email]
    parts += phones.searchable_forms(contact.phone_e164) + phones.searchable_forms(contact.mobile_e164)
    for employment, company in current:
        parts += [company.name, company.group_name, employment.email]
        parts += phones.searchable_forms(employment.phone_e164)
        parts += phones.searchable_forms(employment.mobile_e164)
    return _join(parts)


def query_terms(query: str | None, region: str) -> list[str]:
    """What every match must contain: the phone digits, or each folded word."""
    if not query or not query.strip():
        return []
    number = phones.query_digits(query.strip(), region)
    if number is not None:
        return [number]
    return fold(query).split()
