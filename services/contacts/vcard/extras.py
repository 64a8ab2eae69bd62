"""What a card says beyond names, jobs and ways to reach: BDAY, URL and CATEGORIES, and what is
not kept.

BDAY becomes the birthday (a date with its year: ``1985-06-21``, ``19850621``;
``--0621`` has none and is reported), the first URL that is no social profile
the website, CATEGORIES interests of those names. Every other property the CRM
has no place for (NICKNAME, PHOTO, a third e-mail, an Apple ``itemN.X-ABLabel``)
is listed per card, with its label, so that the import answer says what was
left behind instead of dropping it silently.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from services.contacts.vcard import reader

# Properties that say nothing about the person, or say again what is kept elsewhere.
NOTHING_TO_KEEP = {
    "VERSION",
    "PRODID",
    "REV",
    "UID",
    "KIND",
    "FN",  # the name is read from N
    "LABEL",  # an ADR's printed form
    "X-ABADR",  # an ADR's country format (Apple)
    "X-ABLABEL",  # reported with the property it labels
    "X-ABUID",
    "X-ABSHOWAS",
    "X-MS-OL-DEFAULT-POSTAL-ADDRESS",
    "CLASS",
    "SOURCE",
}
# Labels Apple writes for its own kinds (``_$!<HomePage>!$_``): the kind, not a name the user gave.
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
_BIRTHDAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$")
_MAX_SHOWN = 100
# Groups Google gives every contact: no interest of the user's.
_SYSTEM_CATEGORIES = {"mycontacts", "starred"}


def read_extras(lines: dict[str, list[Any]], card: reader.Card) -> None:
    """Birthday, website and categories into ``card``, then what is not kept listed on it."""
    for prop in reader._properties(lines, "BDAY"):
        birthday = birthday_of(prop.value)
        if birthday is not None:
            reader._put(card.contact, "birthday", birthday.isoformat(), card, "birthday", prop)
    for prop in reader._properties(lines, "URL"):
        if id(prop.line) not in card.kept and not reader._social_site(prop.value.strip()):
            reader._put(card.contact, "website", prop.value.strip(), card, "website", prop)
    for line in lines.get("CATEGORIES", []):
        raw = line.value if isinstance(line.value, str) else ""
        names = [reader._one_line(reader._unescape(part)) for part in reader._split(raw, ",")]
        card.categories += [
            name
            for name in names
            if name and name not in card.categories and name.lower() not in _SYSTEM_CATEGORIES
        ]
        card.kept.add(id(line))
    _list_not_kept(lines, card)


def birthday_of(text: str) -> date | None:
    """The date of a BDAY with its year; None without one (``--0621``) or not a date."""
    found = _BIRTHDAY.match(text.strip())
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _list_not_kept(lines: dict[str, list[Any]], card: reader.Card) -> None:
    labels = {
        line.group.lower(): _label_text(line.value)
        for line in lines.get("X-ABLABEL", [])
        if line.group and isinstance(line.value, str)
    }
    for name, found in lines.items():
        if name in NOTHING_TO_KEEP:
            continue
        for line in found:
            label = labels.get((line.group or "").lower())
            if id(line) in card.kept:
                if label:  # kept, but not the name the user gave it
                    card.not_kept.append({"property": f"{line.group}.X-ABLabel", "value": label})
                continue
            prop = f"{line.group}.{name}" if line.group else name
            card.not_kept.append({"property": f"{prop} ({label})" if label else prop, "value": _shown(line)})


def _label_text(raw: str) -> str:
    text = reader._unescape(raw).strip()
    apple = _APPLE_LABEL.match(text)
    return "" if apple else text


def _shown(line: Any) -> str:
    if line.name in ("PHOTO", "LOGO", "SOUND", "KEY"):
        return f"a {line.name.lower()} ({len(line.value or '')} characters)"
    text = reader._unescape(line.value) if isinstance(line.value, str) else str(line.value)
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN]}…"
