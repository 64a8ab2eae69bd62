"""A contact written as a vCard 3.0 or 4.0, through vobject.

vobject escapes and folds. Its rules are vCard 3.0's and hold for 4.0 text too
(same escaping, same folding); what 4.0 does differently is done here:
``VERSION:4.0``, ``KIND``, phones as ``tel:`` URIs, a UUID id as a
``urn:uuid:`` URI.

Each employment is one group of properties (``job1.ORG``, ``job1.TITLE``,
``job1.TEL``...), current employments first; a past one shows only its company
and function.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
import vobject
from phonenumbers import PhoneNumberFormat
from vobject.vcard import Address, Name

from crm.times import aware
from services.contacts.models import Company, Contact, Employment

PRODID = "-//crm-backend//Contacts//FR"
MAX_LINE_OCTETS = 75
# Our social profiles and the TYPE of X-SOCIALPROFILE that names them (Apple's words).
SOCIAL_TYPES = {"linkedin": "linkedin", "facebook": "facebook", "x": "twitter", "viadeo": "viadeo"}
URI_PROPERTIES = {"URL", "X-SOCIALPROFILE", "SOCIALPROFILE"}
# Properties whose value is one text (or a text list): "\\;" is no escape in RFC 6350.
TEXT_PROPERTIES = {"FN", "NOTE", "TITLE", "CATEGORIES"}
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Job:
    """An employment as a card shows it; a past one shows only its company and function."""

    employment: Employment
    company: Company
    current: bool


def full_name(contact: Contact) -> str:
    return " ".join(name for name in (contact.first_name, contact.last_name) if name)


def write_card(contact: Contact, jobs: Sequence[Job], version: str, categories: Sequence[str] = ()) -> str:
    """The contact as one vCard of ``version`` ("3.0" or "4.0"), lines ending in CRLF; its
    interests, by name, are its CATEGORIES."""
    card = vobject.vCard()
    _add(card, "version", version)
    _add(card, "prodid", PRODID)
    _add_uid(card, contact.id, version)
    if version == "4.0":
        _add(card, "kind", "individual")
    _add(card, "n", Name(family=contact.last_name or "", given=contact.first_name or ""))
    _add(card, "fn", full_name(contact))
    _add_phone(card, contact.phone_e164, ["home", "voice"], version)
    _add_phone(card, contact.mobile_e164, ["cell"], version)
    _add_email(card, contact.email, ["home"], version)
    _add_address(card, contact, "home")
    for index, job in enumerate(jobs, start=1):
        group = f"job{index}"
        _add(card, "org", [job.company.name], group=group)
        if job.employment.function:
            _add(card, "title", job.employment.function, group=group)
        if job.current:
            _add_phone(card, job.employment.phone_e164, ["work", "voice"], version, group)
            _add_phone(card, job.employment.mobile_e164, ["work", "cell"], version, group)
            _add_email(card, job.employment.email, ["work"], version, group)
            _add_address(card, job.company, "work", group)
    if contact.note:
        _add(card, "note", contact.note)
    if contact.birthday:
        _add(
            card,
            "bday",
            contact.birthday.isoformat() if version == "3.0" else contact.birthday.strftime("%Y%m%d"),
        )
    if contact.website:
        _add(card, "url", contact.website)
    if categories:
        _add(card, "categories", list(categories))
    for key, value in sorted((contact.social or {}).items()):
        if value and key in SOCIAL_TYPES and version == "3.0":
            _add(card, "x-socialprofile", value, TYPE=[SOCIAL_TYPES[key]])
        elif value and key in SOCIAL_TYPES:  # RFC 9554
            _add(card, "socialprofile", value, **{"SERVICE-TYPE": [SOCIAL_TYPES[key]]})
    _add(card, "rev", _timestamp(contact.updated_at))
    unfolded = card.serialize().replace("\r\n ", "")  # vobject folds; lines are respelled, then folded
    return fold_lines("\r\n".join(_respelled(line, version) for line in unfolded.split("\r\n")))


def _respelled(line: str, version: str) -> str:
    """vobject escapes every value as vCard 3.0 text. A URI is not text (RFC 2426, RFC 6350):
    written as it is. In 4.0 a semicolon is escaped only in structured values (N, ADR, ORG);
    RFC 6350's text has no ``\\;``, which readers such as ical.js then show as typed."""
    head, colon, value = line.partition(":")
    name = head.split(";")[0].rpartition(".")[2].upper()
    if name in URI_PROPERTIES:
        value = _ESCAPE.sub(
            lambda found: found.group(1) if found.group(1) in "\\;,:" else found.group(0), value
        )
    elif version == "4.0" and name in TEXT_PROPERTIES:
        value = _ESCAPE.sub(lambda found: ";" if found.group(1) == ";" else found.group(0), value)
    return f"{head}{colon}{value}"


def _add(card: Any, name: str, value: Any, group: str | None = None, **params: list[str]) -> None:
    line = card.add(name, group=group)
    line.value = value
    for key, values in params.items():
        line.params[key] = values


def _add_uid(card: Any, contact_id: str, version: str) -> None:
    if version == "3.0":
        _add(card, "uid", contact_id)
        return
    # In 4.0 a UID is a URI unless VALUE=text says otherwise.
    try:
        _add(card, "uid", uuid.UUID(contact_id).urn)
    except ValueError:
        _add(card, "uid", contact_id, VALUE=["text"])


def _add_phone(card: Any, e164: str | None, types: list[str], version: str, group: str | None = None) -> None:
    if not e164:
        return
    if version == "4.0":
        _add(card, "tel", f"tel:{e164}", group, VALUE=["uri"], TYPE=types)
    else:
        number = phonenumbers.format_number(phonenumbers.parse(e164), PhoneNumberFormat.INTERNATIONAL)
        _add(card, "tel", number, group, TYPE=types)


def _add_email(
    card: Any, email: str | None, types: list[str], version: str, group: str | None = None
) -> None:
    if email:
        _add(card, "email", email, group, TYPE=(["internet", *types] if version == "3.0" else types))


def _add_address(card: Any, record: Contact | Company, kind: str, group: str | None = None) -> None:
    parts = {
        "street": record.address_street or "",
        "code": record.address_postal_code or "",
        "city": record.address_city or "",
        "country": record.address_country or "",
    }
    if any(parts.values()):
        _add(card, "adr", Address(**parts), group, TYPE=[kind])


def _timestamp(moment: datetime) -> str:
    return aware(moment).strftime("%Y%m%dT%H%M%SZ")


def fold_lines(text: str) -> str:
    """Fold every line longer than 75 octets, never inside a UTF-8 character.

    vobject folds by octets only lines of 75 characters or more, so a shorter
    line of accented letters could stay over the limit.
    """
    return "\r\n".join(_fold(line) for line in text.split("\r\n"))


def _fold(line: str) -> str:
    if len(line.encode()) <= MAX_LINE_OCTETS:
        return line
    pieces, piece, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > MAX_LINE_OCTETS:
            pieces.append(piece)
            piece, size = " ", 1
        piece += char
        size += width
    pieces.append(piece)
    return "\r\n".join(pieces)
