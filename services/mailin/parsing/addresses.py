"""Mailboxes out of header-like text: ``Name <a@b>``, ``a@b (Name)``, ``Name [mailto:a@b]``, ``Name a@b``."""

from __future__ import annotations

import re
from email.utils import getaddresses

from services.mailin.parsing.shapes import Address

_ADDRESS = re.compile(r"[^@\s<>\[\]\"'(),;:]+@[^@\s<>\[\]\"'(),;:]+\.[^@\s<>\[\]\"'(),;:]+")
_MAILTO = re.compile(r"\[\s*mailto:([^\]]*)\]", re.IGNORECASE)


def first_address(value: str) -> Address | None:
    """The first mailbox named in ``value``, its address lower-cased; None when there is none."""
    if not value or "@" not in value:
        return None
    value = _MAILTO.sub(r"<\1>", value)
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    for name, address in pairs:
        address = address.strip().lower()
        if _ADDRESS.fullmatch(address):
            return Address(address=address, name=_clean_name(name))
    match = _ADDRESS.search(value)
    if match is None:
        return None
    name = value[: match.start()] + value[match.end() :]
    return Address(address=match.group(0).lower().rstrip("."), name=_clean_name(name))


def _clean_name(name: str) -> str:
    return " ".join(name.replace("<>", " ").split()).strip("'\"<>[]() ")
