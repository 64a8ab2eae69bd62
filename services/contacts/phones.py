"""Phone numbers: kept as typed, normalised to E.164, searchable in both forms.

Numbers without a country code are read in the deployment's default region
(``contacts.default_phone_region``, France unless configured).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from crm.errors import invalid

# A search query that is only a phone number, possibly partial: "+33 6 12", "06.12.34".
_PHONE_QUERY = re.compile(r"^\+?[0-9 ().\-/]+$")
_MIN_QUERY_DIGITS = 3
# Searchable forms of numbers normalised lately: a record's search text is built right after
# its phones were checked, and parsing a number again costs as much as the check.
_FORMS: dict[str, list[str]] = {}
_FORMS_KEPT = 10_000


def normalise(typed: str | None, region: str, field: str) -> str | None:
    """The E.164 form of ``typed``; an unreadable number is ``InvalidInput`` naming ``field``."""
    if typed is None:
        return None
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        raise invalid(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise invalid(field, f"not a valid phone number (numbers without +country code are read as {region})")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if len(_FORMS) >= _FORMS_KEPT:
        _FORMS.clear()
    _FORMS[e164] = _forms(e164, number)
    return e164


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def searchable_forms(e164: str | None) -> list[str]:
    """The digits of the international and the national form: "33612345678", "0612345678"."""
    if e164 is None:
        return []
    known = _FORMS.get(e164)
    return list(known) if known is not None else _forms(e164, phonenumbers.parse(e164, None))


def _forms(e164: str, number: phonenumbers.PhoneNumber) -> list[str]:
    international = digits(e164)
    national = digits(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return [international, national] if national != international else [international]


def query_digits(query: str, region: str) -> str | None:
    """The digits to look for when ``query`` is a phone number, else None.

    A whole number is compared in its international form, so "+33 6 12 34 56 78"
    and "06 12 34 56 78" find the same contact; a partial one by its digits.
    """
    if not _PHONE_QUERY.match(query) or len(digits(query)) < _MIN_QUERY_DIGITS:
        return None
    try:
        number = phonenumbers.parse(query, region)
    except NumberParseException:
        return digits(query)
    if phonenumbers.is_valid_number(number):
        return digits(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    return digits(query)
