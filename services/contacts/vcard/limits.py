"""The bounds a .vcf file must keep before its cards are read, and its lines read in linear time.

A card's properties are folded over several lines (a space or tab starts a
continuation; vCard 2.1 quoted-printable ends a line with ``=``). vobject's
lexer re-reads the whole property at every continuation, so a property folded
over a million lines took minutes of CPU, and a green thread that parses never
lets the process's other requests in. Here the file is measured first with a
few linear scans (its lines, its longest property once unfolded) and refused
as a whole, naming what is too big, before any card is read; what passes is
unfolded in one pass.

Charsets that can spell markup with plain letters (UTF-7 writes ``<`` as
``+ADw-``; the ISO-2022 and HZ escapes switch alphabets mid-line) are refused:
what a filter sees is then not what a reader decodes.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

from crm.errors import invalid

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A continuation: a line break then a space or tab (RFC 6350 folding).
_FOLD = re.compile(r"(?:\r\n|\r|\n)[ \t]")
# A quoted-printable soft break stays in the property until it is decoded: it counts, as "=~".
_SOFT_BREAK = re.compile(r"=(?:\r\n|\r|\n)")
_QP_TAIL = len("quoted-printable")
# Plain ASCII that a charset able to hide markup reads otherwise: UTF-7's "+ADw-" is "<",
# HZ's "~{" switches to Chinese, unicode_escape's "\\u003c" is "<"; UTF-16 reads no ASCII at all.
_PROBE = b"+ADw-script+AD4- ~{<}~ \\u003c A+B-C =3C"
# ENCODING values that say how bytes travel, not which charset they are in.
_TRANSFER_ENCODINGS = {"b", "base64", "7bit", "8bit", "binary", "quoted-printable"}
# Escape-based families: plain ASCII reads as itself until an escape byte switches alphabets.
_ESCAPE_CODECS = re.compile(r"^(iso2022.*|hz)$")
# A UTF-7 file's signature (its byte order mark written in UTF-7).
_UTF7_SIGNATURE = re.compile(r"^\+/v[89+/]")


@dataclass(frozen=True)
class VCardLimits:
    """What one import may hold; each is refused with 422 naming it."""

    max_lines: int
    max_property_chars: int


def check_shape(content: str, limits: VCardLimits) -> None:
    """Refuse, in linear time and before any card is read, a file longer or wider than allowed."""
    if _UTF7_SIGNATURE.match(content):
        raise invalid("content", "is UTF-7, which can hide markup; send the file as UTF-8")
    lines = content.count("\n") + 1 if "\n" in content else content.count("\r") + 1
    if lines > limits.max_lines:
        raise invalid(
            "content",
            f"holds {lines} lines; at most {limits.max_lines} are read at once (contacts.vcard_max_lines)",
        )
    longest, number = 0, 0
    joined = _SOFT_BREAK.sub("=~", _FOLD.sub("", content))
    for index, line in enumerate(_LINE_BREAK.split(joined), start=1):
        if len(line) > longest:
            longest, number = len(line), index
    if longest > limits.max_property_chars:
        raise invalid(
            "content",
            f"property {number} holds {longest} characters once its folded lines are joined; "
            f"at most {limits.max_property_chars} (contacts.vcard_max_property_chars)",
        )


def logical_lines(text: str) -> Iterator[tuple[str, int]]:
    """The card's properties unfolded, each with the number of its first line, as vobject's
    ``getLogicalLines(allowQP=True)`` reads them: a space or tab continues a line (and is
    dropped); after a quoted-printable line ending with ``=`` the next line continues it,
    after a ``\\n``, for the decoder to remove."""
    parts: list[str] = []
    start, quoted_printable, says_qp = 0, False, False
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip():
            if parts:
                yield "".join(parts), start
            parts, start, quoted_printable, says_qp = [], number, False, False
            continue
        if quoted_printable:
            parts += ["\n", line]
            quoted_printable = False
        elif line[0] in " \t":
            parts.append(line[1:])
        else:
            if parts:  # after a blank line (or at the top) the line keeps vobject's numbering
                yield "".join(parts), start
                start = number
            parts, says_qp = [line], False
        # Only the new piece (and the tail before it) is searched: the whole line every time
        # is what made vobject quadratic.
        tail = parts[-2][-_QP_TAIL:] if len(parts) > 1 else ""
        says_qp = says_qp or "quoted-printable" in (tail + parts[-1]).lower()
        quoted_printable = says_qp and line.endswith("=")
    if parts:
        yield "".join(parts), start


def refuse_hiding_charset(name: str, params: dict[str, list[str]]) -> None:
    """Refuse a property whose CHARSET (or, with quoted-printable, ENCODING) names a charset that
    can hide markup; vobject decodes a quoted-printable value with it."""
    for param in ("CHARSET", "ENCODING"):
        for value in params.get(param, []):
            if value.strip().lower() in _TRANSFER_ENCODINGS:
                continue
            try:
                codec = codecs.lookup(value.strip()).name
            except LookupError:
                if param == "CHARSET":
                    raise invalid(
                        name, f"CHARSET={value} is not a charset we know; send the card as UTF-8"
                    ) from None
                continue  # not a charset (ENCODING=b, 8BIT): vobject does not decode with it
            if not _reads_ascii_as_ascii(codec):
                raise invalid(
                    name,
                    f"{param}={value} is refused: that charset can hide markup in plain letters; "
                    "send the card as UTF-8",
                )


def hides_markup(charset: str) -> bool:
    """Whether text in ``charset`` (a name Python knows) can spell markup in plain letters."""
    try:
        return not _reads_ascii_as_ascii(codecs.lookup(charset.strip()).name)
    except LookupError:
        return False  # an unknown charset is refused as unknown by whoever decodes with it


def _reads_ascii_as_ascii(codec: str) -> bool:
    if _ESCAPE_CODECS.match(codec):
        return False
    try:
        return _PROBE.decode(codec) == _PROBE.decode("ascii")
    except (UnicodeError, LookupError):
        return False
