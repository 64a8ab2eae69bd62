"""How many SMS segments a text takes, as carriers count them.

A text in the GSM 03.38 alphabet travels as 7-bit characters: 160 in one
segment, 153 per segment once split (the rest of each carries the joining
header). Characters of the extension table (``€ [ ] { } \\ ~ ^ |`` and form
feed) take two. Any other character switches the whole text to UCS-2: 70 code
units in one segment, 67 per segment once split; characters beyond the Basic
Multilingual Plane (most emoji) take two units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE_LIMITS = {GSM7: 160, UCS2: 70}
PART_LIMITS = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SegmentCount:
    encoding: str
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count_segments(text: str) -> SegmentCount:
    """The encoding a text needs and the segments it takes (an empty text takes none)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = GSM7
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    else:
        encoding = UCS2
        units = len(text.encode("utf-16-le")) // 2
    if units == 0:
        return SegmentCount(encoding, 0, 0)
    if units <= SINGLE_LIMITS[encoding]:
        return SegmentCount(encoding, units, 1)
    part = PART_LIMITS[encoding]
    return SegmentCount(encoding, units, -(-units // part))
