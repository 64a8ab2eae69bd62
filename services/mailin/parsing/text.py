"""Bytes to readable text: charsets that lie or are unknown, 8-bit headers, and HTML reduced to text."""

from __future__ import annotations

import codecs
import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_SURROGATES = re.compile("[\udc80-\udcff]")
# Control characters other than tab and newline: PostgreSQL refuses NUL, and none is readable.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")
_HTML_CONFIG = ParserConfig(display_links=False, display_images=False)


def repair_surrogates(text: str) -> str:
    """Text read with ``surrogateescape`` (8-bit bytes in headers) read again as UTF-8, else
    Windows-1252, so "RÃ©union" and "R\\udce9union" both become "Réunion"."""
    if not _SURROGATES.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def known_charset(name: str | None) -> str | None:
    """The codec's name when Python knows the charset, else None."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError, TypeError):
        return None


def decode_text(payload: bytes, declared: str | None) -> tuple[str, str | None]:
    """The text, and a problem in words when the declared charset was unknown or wrong.

    A declared charset that decodes cleanly wins; otherwise UTF-8 (what mislabelled mail mostly
    is), then Windows-1252, which decodes any byte."""
    charset = known_charset(declared)
    if charset is not None:
        try:
            return payload.decode(charset), None
        except (UnicodeDecodeError, LookupError):
            pass
    for fallback in ("utf-8", "cp1252"):
        try:
            text = payload.decode(fallback)
        except UnicodeDecodeError:
            continue
        if declared and charset is None:
            return (
                text,
                f"the text declared an unknown character set ({declared[:40]}); "
                f"it was read as {_label(fallback)}",
            )
        if charset is not None and not payload.isascii():
            return text, f"the text was not valid {declared[:40]}; it was read as {_label(fallback)}"
        return text, None
    return payload.decode("latin-1"), None


def _label(codec: str) -> str:
    return {"utf-8": "UTF-8", "cp1252": "Windows-1252"}.get(codec, codec)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (layout kept as lines, scripts and styles dropped)."""
    if not html.strip():
        return ""
    try:
        text = get_text(html, _HTML_CONFIG)
    except Exception:
        text = re.sub(r"<[^>]*>", " ", html)
    return tidy(text)


def tidy(text: str) -> str:
    """Line endings as ``\\n``, no trailing blanks, no run of more than one empty line."""
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def one_line(text: str) -> str:
    """Header text on one line, without control characters."""
    return " ".join(_CONTROLS.sub("", repair_surrogates(text)).split())
