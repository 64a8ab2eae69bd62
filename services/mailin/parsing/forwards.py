"""The original sender of a forwarded mail, found in the forward's header block."""

from __future__ import annotations

import re

from services.mailin.parsing.shapes import Address

_MARKERS = re.compile(
    r"^\s*(?:-{5,}\s*(?:Forwarded message|Message transf[ée]r[ée]|Original Message|Message d'origine)\s*-{5,}"
    r"|-{5,}\s*(?:Forwarded Message|Message transf[ée]r[ée])\s*-{5,}"
    r"|_{10,})\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def original_sender(text: str) -> Address | None:
    """The sender named in the first forward block of the text, or None."""
    from services.mailin.parsing.headers import first_address

    match = _MARKERS.search(text)
    if match is None:
        return None
    for line in text[match.end() :].splitlines()[:15]:
        label, _, value = line.strip().lstrip(">").strip().partition(":")
        if label.strip().lower() in ("from", "de"):
            return first_address(value.replace("[mailto:", "<").replace("]", ">"))
    return None
