"""The MIME tree of a raw message: the standard library's, built faster for the common shapes.

The standard library's parser reads a body line by line in Python, testing
each line against the boundaries: a 200 KB PDF in base64 is 3,600 lines, and
reading them was most of the time a scan took to read. For a message whose
shape is plain (a single part, or one multipart of single parts, each
boundary where it should be, only header lines above each body, no bare CR)
the bodies are cut out of the bytes with ``bytes`` operations instead, and
only the header blocks go through the parser: the tree is the one the parser
builds (same headers, same payloads, the line ending before a boundary left
to the boundary as RFC 2046 says). Anything else (nested multiparts, attached
messages, a missing or repeated boundary, damaged headers) is read by the
parser itself, which names the damage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import Policy

# A header line or a folded continuation, as the parser's own test (email.feedparser.headerRE).
_HEADER_LINE = re.compile(rb"[\041-\071\073-\176]+:|[ \t]")
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_BOUNDARY_TAIL = re.compile(rb"(--)?[ \t]*(?:\r?\n|\Z)")


def parse_tree(raw: bytes, policy: Policy) -> Message:
    """``BytesParser(policy=policy).parsebytes(raw)``, without reading plain bodies line by line."""
    parser = BytesParser(policy=policy)
    return _plain_tree(raw, parser) or parser.parsebytes(raw)


def _plain_tree(raw: bytes, parser: BytesParser) -> Message | None:
    if raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # bare CRs end lines for the parser: leave them to it
    top = _headed(raw, parser)
    if top is None:
        return None
    message, body = top
    maintype = message.get_content_maintype()
    if maintype == "message":
        return None
    if maintype != "multipart":
        message.set_payload(_text(body))
        return message
    if message.get_content_subtype() == "digest":
        return None  # its parts' default type is message/rfc822: the parser knows it
    boundary = message.get_boundary()
    encoding = str(message.get("content-transfer-encoding", "8bit")).lower()
    if boundary is None or encoding not in ("7bit", "8bit", "binary"):
        return None
    split = _parts(body, boundary)
    if split is None:
        return None
    preamble, parts, epilogue = split
    leaves = []
    for part in parts:
        leaf = _headed(part, parser)
        if leaf is None or leaf[0].get_content_maintype() in ("multipart", "message"):
            return None
        leaf[0].set_payload(_text(leaf[1]))
        leaves.append(leaf[0])
    message.set_payload(leaves)
    message.preamble = _text(preamble) if preamble else None
    message.epilogue = _text(epilogue)
    return message


def _headed(data: bytes, parser: BytesParser) -> tuple[Message, bytes] | None:
    """The headers parsed and the body's bytes, when every line above the first blank one is a
    header line (the parser would take anything else for the start of the body)."""
    end = _END_OF_HEADERS.search(data)
    if end is None or end.start() == 0:
        return None
    head = data[: end.start()]
    if not all(_HEADER_LINE.match(line) for line in _LINE_END.split(head)):
        return None
    if head.startswith((b" ", b"\t")):
        return None
    # Headers only: the parser reads no body (and finds no boundary missing in an empty one).
    return parser.parsebytes(head + b"\r\n\r\n", headersonly=True), data[end.end() :]


def _text(data: bytes) -> str:
    """Bytes as the parser keeps them (``BytesParser``: ASCII, other bytes as surrogates)."""
    return data.decode("ascii", "surrogateescape")


def _parts(body: bytes, boundary: str) -> tuple[bytes, list[bytes], bytes] | None:
    """The preamble, the parts between the boundaries and the epilogue, or None unless there is
    one opening boundary before the parts, one closing boundary after them, and no empty part."""
    try:
        separator = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError:
        return None
    delimiters = list(_delimiters(body, separator))
    if len(delimiters) < 2 or not delimiters[-1][2] or any(closing for *_, closing in delimiters[:-1]):
        return None
    parts = []
    for (_, opening_end, _), (closing_start, _, _) in zip(delimiters, delimiters[1:], strict=False):
        part = body[opening_end:closing_start]
        part = _without_line_end(part)
        if not part:
            return None
        parts.append(part)
    preamble = _without_line_end(body[: delimiters[0][0]])
    return preamble, parts, body[delimiters[-1][1] :]


def _delimiters(body: bytes, separator: bytes) -> Iterator[tuple[int, int, bool]]:
    """(start, end, closing) of each boundary line: the separator at the start of a line, ``--``
    after it when it closes, blanks, then the line's end (as the parser's ``boundaryre``)."""
    at = body.find(separator)
    while at >= 0:
        if at == 0 or body[at - 1 : at] == b"\n":
            line = _BOUNDARY_TAIL.match(body, at + len(separator))
            if line is not None:
                yield at, line.end(), bool(line.group(1))
        at = body.find(separator, at + 1)


def _without_line_end(data: bytes) -> bytes:
    """The line ending before a boundary belongs to the boundary (RFC 2046)."""
    return data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
