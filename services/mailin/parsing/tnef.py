"""Outlook's ``winmail.dat`` (TNEF): the files and the body it wraps."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tnefparse.tnef import TNEF

log = logging.getLogger(__name__)


@dataclass
class TnefContent:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    text: str = ""
    html: str = ""


def unpack(data: bytes) -> TnefContent | None:
    """The attachments (name, bytes) and body inside a TNEF blob, or None when it is not readable."""
    try:
        wrapped = TNEF(data, do_checksum=False)
    except Exception as exc:
        log.info("winmail.dat could not be read: %s: %s", type(exc).__name__, exc)
        return None
    content = TnefContent()
    for index, attachment in enumerate(getattr(wrapped, "attachments", []) or []):
        try:
            name = attachment.long_filename() or attachment.name or f"attachment-{index + 1}"
        except Exception:
            name = f"attachment-{index + 1}"
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        content.files.append((str(name).strip("\x00 "), bytes(attachment.data or b"")))
    content.html = _as_text(getattr(wrapped, "htmlbody", None))
    content.text = _as_text(getattr(wrapped, "body", None))
    return content


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("cp1252", "replace")
    return str(value)
