"""CardDAV's ``addressbook-query`` filters (RFC 6352, section 10.5) tested on a card's text.

A card is read as its properties: lines unfolded, each split into its name
(without a group: ``job1.TEL`` is a ``TEL``), its parameters and its value,
unescaped. A text match compares with the filter's collation: ``i;octet``
exactly, ``i;ascii-casemap`` folding ASCII letters only, ``i;unicode-casemap``
(the default) folding case as Unicode does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from services.sync.schemas import CardQuery, ParamFilter, PropFilter, TextMatch

_FOLD = re.compile(r"\r?\n[ \t]")
_ESCAPED = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "N": "\n"}


@dataclass
class CardProperty:
    value: str
    params: dict[str, list[str]] = field(default_factory=dict)


def properties(card: str) -> dict[str, list[CardProperty]]:
    """The card's properties by upper-case name (BEGIN, END and VERSION left out)."""
    found: dict[str, list[CardProperty]] = defaultdict(list)
    for line in _FOLD.sub("", card).splitlines():
        head, value = _split_value(line)
        if head is None:
            continue
        name, *params = _split(head, ";")
        name = name.rpartition(".")[2].upper()
        if name in ("BEGIN", "END", "VERSION"):
            continue
        parsed: dict[str, list[str]] = {}
        for param in params:
            key, _, values = param.partition("=")
            parsed.setdefault(key.upper(), []).extend(v.strip('"') for v in _split(values, ","))
        found[name].append(CardProperty(_unescape(value), parsed))
    return found


def matches(query: CardQuery, card: str) -> bool:
    """Whether the card passes the filter (no prop filter: every card does)."""
    if not query.props:
        return True
    props = properties(card)
    results = (
        _prop_matches(prop_filter, props.get(prop_filter.name.upper(), [])) for prop_filter in query.props
    )
    return all(results) if query.test == "allof" else any(results)


def _prop_matches(prop_filter: PropFilter, found: list[CardProperty]) -> bool:
    if not prop_filter.defined:
        return not found
    if not found:
        return False
    tests = [
        *(lambda p, m=match: text_matches(m, p.value) for match in prop_filter.text_matches),
        *(lambda p, f=param: _param_matches(f, p) for param in prop_filter.param_filters),
    ]
    if not tests:
        return True
    # Each test holds for one of the properties of that name (RFC 6352, 10.5.1).
    results = (any(test(prop) for prop in found) for test in tests)
    return all(results) if prop_filter.test == "allof" else any(results)


def _param_matches(param_filter: ParamFilter, prop: CardProperty) -> bool:
    values = prop.params.get(param_filter.name.upper())
    if not param_filter.defined:
        return values is None
    if values is None:
        return False
    if param_filter.text_match is None:
        return True
    return any(text_matches(param_filter.text_match, value) for value in values)


def text_matches(match: TextMatch, value: str) -> bool:
    wanted, text = _folded(match.text, match.collation), _folded(value, match.collation)
    if match.match_type == "equals":
        found = text == wanted
    elif match.match_type == "starts-with":
        found = text.startswith(wanted)
    elif match.match_type == "ends-with":
        found = text.endswith(wanted)
    else:
        found = wanted in text
    return found != match.negate


def _folded(text: str, collation: str) -> str:
    if collation == "i;octet":
        return text
    if collation == "i;ascii-casemap":
        return "".join(char.lower() if char.isascii() else char for char in text)
    return text.casefold()


def _split_value(line: str) -> tuple[str | None, str]:
    """(name and parameters, value): split at the first colon outside quotes."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:index], line[index + 1 :]
    return None, ""


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quotes."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda found: _ESCAPES.get(found.group(1), found.group(1)), value)
