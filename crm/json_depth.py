"""JSON from outside, with its nesting bounded.

Python's parser recurses once per level: a body of a few thousand ``[`` raised
``RecursionError`` (a 500), and a document a little shallower than that still
broke later, when it was serialised again for RPC. Nothing we accept nests
deeper than a handful of levels, so anything over ``MAX_DEPTH`` is refused
before it is parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# A JSON string (escapes included), so that brackets inside strings are not counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeeplyNested(ValueError):
    """The document nests arrays and objects deeper than allowed."""


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (JSON), ignoring brackets in strings."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(raw: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, refusing documents nested deeper than ``max_depth`` (``TooDeeplyNested``,
    a ``ValueError`` like every other reason a body is not acceptable JSON)."""
    text = raw
    if isinstance(raw, bytes | bytearray):  # as json.loads reads bytes: UTF-8, -16 or -32
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    # A document with fewer opening brackets than the limit cannot go over it: no scan needed.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise TooDeeplyNested(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # the scan was fooled (an unterminated string): still not a 500
        raise TooDeeplyNested(f"JSON nested deeper than {max_depth} levels") from None
