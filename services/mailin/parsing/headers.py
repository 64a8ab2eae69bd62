"""Header values as the CRM keeps them: the message key, subject, sender and date.

Each function takes the parsed message and never raises: a header that cannot be
read gives ``None`` (or an empty string), and the caller says so in ``problems``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message
from email.utils import parsedate_to_datetime

from services.mailin.parsing.addresses import first_address
from services.mailin.parsing.shapes import Address
from services.mailin.parsing.text import decode_text, one_line, repair_surrogates

MAX_MESSAGE_ID_CHARS = 250
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_KEY_HEADERS = ("from", "to", "cc", "date", "subject")


def header_text(message: Message, name: str) -> str:
    """The header's decoded value on one line (encoded words decoded, 8-bit bytes read as UTF-8 or
    Windows-1252), or ''. Read from the raw value: the header registry is slow and lossy on bad input."""
    wanted = name.lower()
    try:
        for key, value in message.raw_items():
            if key.lower() == wanted:
                return one_line(decode_words(repair_surrogates(str(value))))
    except Exception:
        return ""
    return ""


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded, each in its charset (an unknown one read as UTF-8)."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    decoded: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            decoded.append(chunk)
        else:
            decoded.append(decode_text(chunk, charset)[0])
    return "".join(decoded)


def message_key(message: Message, body: bytes) -> str:
    """The Message-ID without its angle brackets; when absent, one derived from the content, so the
    same mail fetched twice (by SMTP and IMAP, with different trace headers) gets the same key."""
    found = _message_id(header_text(message, "message-id"))
    if found is not None:
        return found
    return derived_key(message, body)


def _message_id(value: str) -> str | None:
    match = _MESSAGE_ID.search(value)
    candidate = match.group(1) if match else value.strip().strip("<>").strip()
    if not candidate or any(char.isspace() or ord(char) < 32 for char in candidate):
        return None
    if len(candidate) > MAX_MESSAGE_ID_CHARS:
        return "id-sha256-" + hashlib.sha256(candidate.encode("utf-8", "replace")).hexdigest()
    return candidate


def derived_key(message: Message | None, body: bytes) -> str:
    """``derived-<sha256>`` over the addressing headers and the body, line endings and trailing
    blanks normalised (relays and IMAP servers change those, and add trace headers)."""
    digest = hashlib.sha256()
    if message is not None:
        for name in _KEY_HEADERS:
            digest.update(
                f"{name}:{' '.join(header_text(message, name).split())}\n".encode("utf-8", "replace")
            )
    digest.update(b"\n")
    for line in body.splitlines():
        digest.update(line.rstrip() + b"\n")
    return "derived-" + digest.hexdigest()


def subject(message: Message) -> str:
    """The subject on one line."""
    return header_text(message, "subject")


def sender(message: Message) -> Address | None:
    """Who sent it: From, else Sender."""
    return first_address(header_text(message, "from")) or first_address(header_text(message, "sender"))


def sent_at(message: Message) -> tuple[datetime | None, bool]:
    """The Date header in UTC (a date without zone is read as UTC), and whether one was there."""
    value = header_text(message, "date")
    if not value:
        return None, False
    try:
        when = parsedate_to_datetime(value)
    except Exception:
        return None, True
    if when is None:
        return None, True
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC), True
    return when.astimezone(UTC), True
