""".vcf bytes sent without a charset, read as text the way their writer meant them.

Browsers upload a .vcf as ``text/x-vcard`` without a charset, and Outlook
writes vCard 2.1 in Windows-1252, saying so in each property
(``FN;CHARSET=Windows-1252:François``). So, when the request names no charset:
a byte order mark decides; else UTF-8 if the bytes are UTF-8; else each card
is read in the CHARSET it names, or in Windows-1252 (what Outlook and Windows
tools write) when it names none. A charset that can hide markup in plain
letters (UTF-7, the ISO-2022 family), or one unknown, is never used: the card
is read byte for byte and the reader refuses it alone, naming its CHARSET.
"""

from __future__ import annotations

import codecs
import re

from crm.errors import invalid
from services.contacts.vcard.limits import hides_markup

# Byte order marks, longest first (UTF-32's starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Outlook's and Windows' legacy charset: what a card without CHARSET and not in UTF-8 is in.
LEGACY_CHARSET = "windows-1252"
_CARD_START = re.compile(rb"(?im)^(?=BEGIN:VCARD[ \t]*\r?$)")
_CHARSET = re.compile(rb";CHARSET=\"?([A-Za-z0-9._+-]{1,40})", re.IGNORECASE)


def decode_vcf(raw: bytes) -> str:
    """The file's text; bytes no charset reads are InvalidInput naming the card."""
    for bom, charset in _BOMS:
        if raw.startswith(bom):
            return _decode(raw[len(bom) :], charset, "content", marked=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    pieces = [piece for piece in _CARD_START.split(raw) if piece]
    return "".join(_decode_card(piece, number) for number, piece in enumerate(pieces, start=1))


def card_charset(piece: bytes) -> str:
    """The charset a card's properties name (the first one), else the legacy charset."""
    named = _CHARSET.search(piece)
    return named.group(1).decode("ascii") if named else LEGACY_CHARSET


def _decode_card(piece: bytes, number: int) -> str:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = card_charset(piece)
    if hides_markup(charset) or not _known(charset):
        # Never decoded in that charset: read byte for byte, the card is refused on its own,
        # naming its CHARSET, while the others are imported.
        return piece.decode("latin-1")
    return _decode(piece, charset, f"card {number}")


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


def _decode(raw: bytes, charset: str, where: str, marked: bool = False) -> str:
    # UTF-16 and UTF-32 read no ASCII as ASCII, so they "hide markup": only their BOM says them.
    if hides_markup(charset) and not marked:
        raise invalid("content", f"{where}: CHARSET={charset} can hide markup; send the file as UTF-8")
    try:
        return raw.decode(charset)
    except LookupError:
        raise invalid("content", f"{where}: unknown charset {charset}; send the file as UTF-8") from None
    except UnicodeDecodeError as exc:
        raise invalid("content", f"{where}: byte {exc.start} is not {charset} text") from None
