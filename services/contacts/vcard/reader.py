"""A .vcf file read as cards (vCard 2.1, 3.0 and 4.0), each in the CRM's words.

Reading takes vobject's parser of a property (parameters, groups, vCard 2.1
quoted-printable) but neither its unfolding (``vcard_limits`` unfolds in linear
time) nor its value decoding, which keeps only the first of
comma-separated values: a ``NOTE:Bonjour, merci`` from a writer that does not
escape commas would lose all but "Bonjour". Values are unescaped here.

A group's properties go together (``job1.ORG`` with ``job1.TITLE`` and
``job1.TEL``); work properties outside any ORG's group go with the first ORG
that has no group (the usual card with one ORG).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vobject.base import textLineToContentLine

from crm.errors import CrmError, invalid
from services.contacts.vcard import extras
from services.contacts.vcard.limits import logical_lines, refuse_hiding_charset

SOCIAL_TYPES = {"linkedin": "linkedin", "facebook": "facebook", "twitter": "x", "x": "x", "viadeo": "viadeo"}
SOCIAL_HOSTS = {
    "linkedin.com": "linkedin",
    "facebook.com": "facebook",
    "twitter.com": "x",
    "x.com": "x",
    "viadeo.com": "viadeo",
}
NOT_A_VOICE_LINE = {"fax", "pager", "modem", "bbs"}
# Where a field of a card's contact comes from when the card does not say more precisely.
DEFAULT_SOURCES = {
    "first_name": "N",
    "last_name": "N",
    "email": "EMAIL",
    "phone": "TEL",
    "mobile": "TEL",
    "address": "ADR",
    "note": "NOTE",
    "social": "X-SOCIALPROFILE",
}

_BEGIN = re.compile(r"^BEGIN:VCARD[ \t]*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD[ \t]*$", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_STRUCTURED = ("N", "ADR", "ORG")
# Far more than a name, an address or a company needs (each of their fields keeps 200 characters).
_MAX_STRUCTURED = 10_000
_ESCAPED = re.compile(r"\\(.)")
_EXTENSION = re.compile(r";ext=([0-9]{1,10})(?:;|$)", re.IGNORECASE)
_ESCAPES = {"\\": "\\", ",": ",", ";": ";", ":": ":", "n": "\n", "N": "\n"}


@dataclass(frozen=True)
class CardText:
    """One card of a file, numbered from 1 in file order."""

    number: int
    text: str
    complete: bool  # closed by END:VCARD


def split_cards(content: str) -> list[CardText]:
    """The cards of a .vcf file; a card left open ends where the next begins.

    Cutting the file first lets a broken card be reported on its own while the
    others are read.
    """
    cards: list[CardText] = []
    lines: list[str] | None = None
    for line in _LINE_BREAK.split(content.lstrip("\ufeff")):
        if _BEGIN.match(line):
            if lines is not None:
                cards.append(CardText(len(cards) + 1, "\r\n".join(lines), complete=False))
            lines = [line]
        elif lines is not None:
            if line.strip():
                lines.append(line)
            if _END.match(line):
                cards.append(CardText(len(cards) + 1, "\r\n".join(lines) + "\r\n", complete=True))
                lines = None
    if lines is not None:
        cards.append(CardText(len(cards) + 1, "\r\n".join(lines), complete=False))
    return cards


@dataclass
class Card:
    """What a card says, in the CRM's words: a contact, and one job per ORG.

    ``contact`` and ``jobs`` hold only what the card gives, shaped as
    ``schemas.CardContact``; ``sources`` tells which property each field came
    from (``job1.TEL``), so that an error names what the sender wrote.
    """

    number: int
    uid: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)  # CATEGORIES: interests of those names
    not_kept: list[dict[str, str]] = field(default_factory=list)  # what the CRM has no place for
    kept: set[int] = field(default_factory=set)  # the content lines read into the contact

    def payload(self) -> dict[str, Any]:
        return {**self.contact, "jobs": self.jobs}

    def property_of(self, field_path: str) -> str:
        """The property behind ``jobs.0.employment.phone``, or its nearest known parent."""
        parts = field_path.split(".")
        while parts:
            path = ".".join(parts)
            if path in self.sources:
                return self.sources[path]
            if path in DEFAULT_SOURCES:
                return DEFAULT_SOURCES[path]
            parts.pop()
        return "card"


@dataclass(frozen=True)
class _Property:
    name: str
    group: str | None
    types: frozenset[str]
    value: Any
    line: Any = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.group}.{self.name}" if self.group else self.name


def read_card(piece: CardText) -> Card:
    """The card's contents; an unreadable card, or one without a name or an e-mail, is InvalidInput."""
    if not piece.complete:
        raise invalid("END", "the card is not closed by END:VCARD")
    try:
        lines = _content_lines(piece.text)
    except CrmError:
        raise
    except Exception as exc:  # vobject's lexer raises several kinds of errors on malformed input
        raise invalid("card", f"not a readable vCard: {_first_line(exc)}") from None
    kind = _first_text(lines, "KIND").lower()
    if kind not in ("", "individual"):
        raise invalid("KIND", f"a card of kind {kind} is not a person; only people are imported")
    card = Card(piece.number, uid=_uid(_first_text(lines, "UID")))
    _read_names(lines, card)
    _read_jobs(lines, card)
    extras.read_extras(lines, card)
    if not (card.contact.get("first_name") or card.contact.get("last_name") or _any_email(card)):
        raise invalid("N", "a card needs a name (N or FN) or an e-mail address (EMAIL)")
    return card


def _content_lines(text: str) -> dict[str, list[Any]]:
    """The card's properties by name, still escaped, each with its parameters and group."""
    found: dict[str, list[Any]] = {}
    for logical, number in logical_lines(text):
        line = textLineToContentLine(logical, number)
        refuse_hiding_charset(line.name, line.params)
        if line.name not in ("BEGIN", "END"):
            found.setdefault(line.name, []).append(line)
    return found


def _properties(lines: dict[str, list[Any]], name: str, preferred_first: bool = True) -> list[_Property]:
    """The card's ``name`` properties, each with its TYPEs in lower case; preferred ones first.

    Structured values (N, ADR, ORG) are lists of components.
    """
    found = []
    for line in lines.get(name, []):
        types = {value.strip().lower() for raw in line.params.get("TYPE", []) for value in raw.split(",")}
        types |= {value.lower() for value in line.singletonparams}  # vCard 2.1: TEL;WORK;VOICE
        if line.params.get("PREF"):
            types.add("pref")
        raw = line.value if isinstance(line.value, str) else ""
        if name in _STRUCTURED and len(raw) > _MAX_STRUCTURED:  # cut char by char below
            raise invalid(line.name, f"holds {len(raw)} characters; at most {_MAX_STRUCTURED}")
        value = [_unescape(part) for part in _split(raw, ";")] if name in _STRUCTURED else _unescape(raw)
        found.append(_Property(name, line.group, frozenset(types - {""}), value, line))
    if preferred_first:
        found.sort(key=lambda prop: "pref" not in prop.types)
    return found


def _split(raw: str, separator: str) -> list[str]:
    """``raw`` cut at each ``separator`` that is not escaped; the parts stay escaped."""
    parts, current, escaped = [], "", False
    for char in raw:
        if char == separator and not escaped:
            parts.append(current)
            current = ""
        else:
            current += char
            escaped = char == "\\" and not escaped
    parts.append(current)
    return parts


def _unescape(raw: str) -> str:
    """A text value as written: ``\\n`` is a line break, ``\\,`` ``\\;`` ``\\\\`` the character itself."""
    return _ESCAPED.sub(lambda match: _ESCAPES.get(match.group(1), match.group(0)), raw)


def _first_text(lines: dict[str, list[Any]], name: str) -> str:
    found = _properties(lines, name, preferred_first=False)
    return found[0].value.strip() if found else ""


def _uid(text: str) -> str | None:
    if text.lower().startswith("urn:uuid:"):
        text = text[len("urn:uuid:") :]
    return text or None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _put(target: dict[str, Any], key: str, value: Any, card: Card, path: str, prop: _Property) -> None:
    """Keep the first value a card gives for a field, and where it came from."""
    if value and key not in target:
        target[key] = value
        card.sources[path] = prop.label
        card.kept.add(id(prop.line))


def _read_names(lines: dict[str, list[Any]], card: Card) -> None:
    names = _properties(lines, "N")
    if names:
        family, given, additional, prefix, suffix = (
            _one_line(part) for part in [*names[0].value, "", "", "", "", ""][:5]
        )
        _put(card.contact, "first_name", given, card, "first_name", names[0])
        _put(card.contact, "last_name", family, card, "last_name", names[0])
        card.kept.add(id(names[0].line))
        for what, text in (("middle name", additional), ("prefix", prefix), ("suffix", suffix)):
            if text:
                card.not_kept.append({"property": f"N ({what})", "value": text})
    if "first_name" in card.contact or "last_name" in card.contact:
        return
    # Without N (4.0 asks only for FN): the first word is the first name, the rest the last name.
    for formatted in _properties(lines, "FN"):
        words = formatted.value.split()
        if len(words) > 1:
            _put(card.contact, "first_name", words[0], card, "first_name", formatted)
        _put(card.contact, "last_name", " ".join(words[1:] or words), card, "last_name", formatted)
        return


def _read_jobs(lines: dict[str, list[Any]], card: Card) -> None:
    orgs = [prop for prop in _properties(lines, "ORG", preferred_first=False) if _company_name(prop.value)]
    groups = [prop.group for prop in orgs]
    # Work details outside any ORG's group go with the first ORG that has no group of its own.
    loose = groups.index(None) if None in groups else 0
    for index, org in enumerate(orgs):
        card.jobs.append({"company": _company_name(org.value), "employment": {}})
        card.sources[f"jobs.{index}"] = org.label
        card.kept.add(id(org.line))
        units = ", ".join(_one_line(unit) for unit in org.value[1:] if unit.strip())
        if units:
            card.not_kept.append({"property": f"{org.label} (unit)", "value": units})

    def job_of(prop: _Property, loose_too: bool) -> int | None:
        if prop.group is not None and prop.group in groups:
            return groups.index(prop.group)
        return loose if orgs and loose_too else None

    def put(prop: _Property, key: str, value: Any) -> None:
        index = job_of(prop, loose_too="work" in prop.types)
        if index is None:
            _put(card.contact, key, value, card, key, prop)
        else:
            path = f"jobs.{index}.employment.{key}"
            _put(card.jobs[index]["employment"], key, value, card, path, prop)

    for title in _properties(lines, "TITLE"):
        index = job_of(title, loose_too=True)
        if index is not None:  # a function needs a company: without ORG it has nowhere to go
            path = f"jobs.{index}.employment.function"
            _put(card.jobs[index]["employment"], "function", _one_line(title.value), card, path, title)
    for phone in _properties(lines, "TEL"):
        if not phone.types & NOT_A_VOICE_LINE:
            put(
                phone,
                "mobile" if phone.types & {"cell", "mobile", "iphone"} else "phone",
                _phone_text(phone.value),
            )
    for email in _properties(lines, "EMAIL"):
        put(email, "email", _email_text(email.value))
    for address in _properties(lines, "ADR"):
        index = job_of(address, loose_too="work" in address.types)
        if index is None:
            _put(card.contact, "address", _address(address.value), card, "address", address)
        else:
            path = f"jobs.{index}.address"
            _put(card.jobs[index], "address", _address(address.value), card, path, address)
    notes = [prop.value.strip() for prop in _properties(lines, "NOTE", preferred_first=False)]
    if any(notes):
        card.contact["note"] = "\n\n".join(note for note in notes if note)
        card.sources["note"] = "NOTE"
        card.kept.update(id(line) for line in lines.get("NOTE", []))
    _read_social(lines, card)


def _company_name(components: list[str]) -> str:
    """The organisation's name: ORG's first component (the others are its units)."""
    return _one_line(components[0]) if components else ""


def _one_line(text: str) -> str:
    """A one-line field: its lines joined by ", ", each run of spaces and tabs one space."""
    return ", ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _phone_text(text: str) -> str:
    """The number as typed; an extension (``;ext=102``, a tel: URI's ``;ext=102``) as " ext. 102",
    which the phone parser reads as the extension."""
    text = text.strip()
    if text.lower().startswith("tel:"):
        text = text[len("tel:") :]
    number, _, rest = text.partition(";")
    extension = _EXTENSION.search(f";{rest}") if rest else None
    return f"{number.strip()} ext. {extension.group(1)}" if extension else number.strip()


def _email_text(text: str) -> str:
    text = text.strip()
    return text[len("mailto:") :] if text.lower().startswith("mailto:") else text


def _address(components: list[str]) -> dict[str, str | None] | None:
    box, extended, street, city, _region, code, country = [*components, *[""] * 7][:7]
    # Our address has one street line: the street lines, then the extended address and post box.
    parts = {
        "street": _one_line("\n".join((street, extended, box))),
        "postal_code": _one_line(code),
        "city": _one_line(city),
        "country": _one_line(country),
    }
    return {key: text or None for key, text in parts.items()} if any(parts.values()) else None


def _read_social(lines: dict[str, list[Any]], card: Card) -> None:
    social = card.contact.get("social", {})
    profiles = _properties(lines, "SOCIALPROFILE") + _properties(lines, "X-SOCIALPROFILE")
    for prop in profiles:  # RFC 9554's SOCIALPROFILE names its site in SERVICE-TYPE
        services = {kind.lower() for kind in prop.line.params.get("SERVICE-TYPE", [])}
        kinds = [SOCIAL_TYPES[kind] for kind in sorted(prop.types | services) if kind in SOCIAL_TYPES]
        key = kinds[0] if kinds else _social_site(prop.value.strip())
        if key:
            _put(social, key, prop.value.strip(), card, f"social.{key}", prop)
    for prop in _properties(lines, "URL"):
        key = _social_site(prop.value.strip())
        if key:
            _put(social, key, prop.value.strip(), card, f"social.{key}", prop)
    if social:
        card.contact["social"] = social


def _social_site(url: str) -> str | None:
    try:
        host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    except ValueError:  # not a URL at all (an unclosed "[", a bad port): no social site to read
        return None
    for domain, key in SOCIAL_HOSTS.items():
        if host == domain or host.endswith(f".{domain}"):
            return key
    return None


def _any_email(card: Card) -> bool:
    return bool(card.contact.get("email")) or any(job["employment"].get("email") for job in card.jobs)
