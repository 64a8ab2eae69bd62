"""The real type of an attachment when the sender did not say it (scanners send application/octet-stream)."""

from __future__ import annotations

import mimetypes

import filetype

GENERIC_TYPES = frozenset({"", "application/octet-stream", "application/binary", "application/unknown"})
_SNIFF_BYTES = 8192


def real_content_type(declared: str, name: str, data: bytes) -> str:
    """The declared type unless it is generic; then the type the bytes show (magic numbers),
    then the one the file name's extension gives, then ``application/octet-stream``."""
    declared = (declared or "").strip().lower()
    if declared not in GENERIC_TYPES:
        return declared
    try:
        kind = filetype.guess(data[:_SNIFF_BYTES])
    except Exception:
        kind = None
    if kind is not None:
        return kind.mime
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def extension_for(content_type: str) -> str:
    """A file name extension for a type (``.pdf``), or '' when none is known."""
    if content_type == "text/plain":
        return ".txt"
    return mimetypes.guess_extension(content_type, strict=False) or ""
