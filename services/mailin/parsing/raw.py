"""Work on the raw bytes before the parser sees them: the header block and the body, and headers
cut to a bounded length (the standard library's header parser is slow on huge headers)."""

from __future__ import annotations

import re

from services.mailin.parsing.shapes import ParseLimits

_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """The header block and the body (empty when the message is only headers)."""
    match = _END_OF_HEADERS.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def bounded_headers(raw: bytes, limits: ParseLimits, problems: list[str]) -> bytes:
    """``raw`` with each top-level header cut to ``max_header_chars`` and the header block to
    ``max_header_block_bytes``; ``problems`` says when something was cut."""
    head, body = split_raw(raw)
    if len(head) <= limits.max_header_chars and b"\n" in raw[: limits.max_header_chars + 2]:
        return raw
    separator = raw[len(head) : len(raw) - len(body)]
    kept: list[bytes] = []
    size = 0
    cut = False
    for header in _headers(head):
        if len(header) > limits.max_header_chars:
            header = header[: limits.max_header_chars]
            cut = True
        if size + len(header) > limits.max_header_block_bytes:
            cut = True
            break
        kept.append(header)
        size += len(header) + 2
    if not cut:
        return raw
    problems.append("some headers of the message were too long and were cut")
    return b"\r\n".join(kept) + (separator or b"\r\n\r\n") + body


def _headers(head: bytes) -> list[bytes]:
    """The header block split into headers, each with its folded continuation lines."""
    headers: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if headers and line[:1] in (b" ", b"\t"):
            headers[-1] += line
        else:
            headers.append(line)
    return [header.rstrip(b"\r\n") for header in headers]
