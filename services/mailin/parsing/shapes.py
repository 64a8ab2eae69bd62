"""What reading a message gives: the mail as the CRM keeps it, and the limits that bound the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on the time and memory one message may take; what lies beyond is left out, and said."""

    max_parts: int = 1_000
    max_depth: int = 20
    # Decoded bytes of all attachments together, and of the bodies' text and HTML.
    max_attachment_bytes: int = 64 * 1024 * 1024
    max_text_chars: int = 1_000_000
    max_html_chars: int = 2_000_000
    # A header longer than this is cut before it is read (a 10 MB header would stall the parser).
    max_header_chars: int = 16 * 1024
    max_header_block_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Address:
    """A mailbox: ``address`` lower-cased, ``name`` as displayed (may be empty)."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file carried by the mail; ``content_type`` is the detected type when the sender gave none
    or ``application/octet-stream`` (as scanners do)."""

    name: str
    content_type: str
    data: bytes
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    """One received message as the CRM keeps it. ``problems`` says in words what could not be read."""

    message_key: str
    subject: str = ""
    sender: Address | None = None
    original_sender: Address | None = None
    sent_at: datetime | None = None
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
