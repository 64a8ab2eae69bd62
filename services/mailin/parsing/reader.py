"""``read_message``: raw bytes to a ``ParsedMail``, whatever the bytes are.

The MIME tree is walked without recursion, part by part, each in its own
``try``: a part that cannot be read is left out and named in ``problems``,
and the rest of the message is kept. Limits (``ParseLimits``) bound the parts,
the nesting, the decoded bytes and the text, so no message takes unbounded
time or memory.
"""

from __future__ import annotations

import functools
import logging
from email import policy
from email.message import Message
from email.policy import EmailPolicy

from services.mailin.parsing import forwards, headers, tnef
from services.mailin.parsing.filetypes import extension_for, real_content_type
from services.mailin.parsing.raw import bounded_headers, split_raw
from services.mailin.parsing.shapes import Attachment, ParsedMail, ParseLimits
from services.mailin.parsing.text import decode_text, html_to_text, repair_surrogates, tidy
from services.mailin.parsing.tree import parse_tree

log = logging.getLogger(__name__)

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
# Header values longer than this are parsed each time they are read, not remembered.
_CACHED_HEADER_CHARS = 1_000


@functools.lru_cache(maxsize=2048)
def _parsed_header(name: str, value: str) -> object:
    return policy.default.header_fetch_parse(name, value)


class _ReadingPolicy(EmailPolicy):
    """The modern policy, remembering the headers it parsed: the parser and the walk read each
    part's Content-Type several times, and the header registry parses it again each time (half of
    the time a plain message took). A parsed header is immutable, so sharing one is safe."""

    def header_fetch_parse(self, name: str, value: str) -> object:
        if hasattr(value, "name") or len(value) > _CACHED_HEADER_CHARS:
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)


_READING = _ReadingPolicy()


def read_message(raw: bytes, limits: ParseLimits = ParseLimits()) -> ParsedMail:
    """The mail as the CRM keeps it. Never raises: what fails is said in ``problems``."""
    try:
        return _read(raw, limits)
    except Exception as exc:  # the last guard: a defect here must not lose the mail
        log.warning("mail could not be read: %s: %s", type(exc).__name__, exc)
        return ParsedMail(
            message_key=headers.derived_key(None, raw),
            problems=["the message could not be read; the original is attached as message.eml"],
        )


def _read(raw: bytes, limits: ParseLimits) -> ParsedMail:
    problems: list[str] = []
    raw = bounded_headers(raw, limits, problems)
    if not raw.strip():
        return ParsedMail(message_key=headers.derived_key(None, raw), problems=["the message is empty"])
    message = parse_tree(raw, _READING)
    head, body = split_raw(raw)
    if not head.isascii() and not _is_utf8(head):
        problems.append(
            "some headers carry 8-bit characters that are not UTF-8; they were read as Windows-1252"
        )
    if not message.keys():
        problems.append("the message has no headers (no sender, subject or date could be read)")
        body = raw
    parsed = ParsedMail(message_key=headers.message_key(message, body), problems=problems)
    parsed.subject = headers.subject(message)
    parsed.sender = headers.sender(message)
    parsed.sent_at, had_date = headers.sent_at(message)
    if had_date and parsed.sent_at is None:
        problems.append("the date of the message could not be read")
    _walk(message, parsed, limits)
    if parsed.original_sender is None:
        parsed.original_sender = forwards.original_sender(parsed.text)
    problems.extend(_defects(message))
    parsed.problems = list(dict.fromkeys(problems))
    return parsed


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Bodies:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachment_bytes = 0


def _walk(message: Message, parsed: ParsedMail, limits: ParseLimits) -> None:
    bodies = _Bodies()
    stack: list[tuple[Message, int, bool]] = [(message, 0, False)]
    seen = 0
    while stack:
        part, depth, in_alternative = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            parsed.problems.append(
                f"the message has more than {limits.max_parts:,} parts; "
                f"only the first {limits.max_parts:,} were read"
            )
            break
        try:
            children = _read_part(part, depth, in_alternative, parsed, bodies, limits)
        except Exception as exc:
            log.info("mail part could not be read: %s: %s", type(exc).__name__, exc)
            parsed.problems.append(f"a part of the message ({_describe(part)}) could not be read")
            continue
        if children:
            if depth + 1 > limits.max_depth:
                parsed.problems.append(f"parts nested more than {limits.max_depth} levels deep were not read")
                continue
            alternative = part.get_content_subtype() == "alternative"
            stack.extend((child, depth + 1, alternative) for child in reversed(children))
    _set_bodies(parsed, bodies, limits)


def _read_part(
    part: Message, depth: int, in_alternative: bool, parsed: ParsedMail, bodies: _Bodies, limits: ParseLimits
) -> list[Message]:
    """Reads one part into ``parsed``/``bodies``; returns the sub-parts to read next."""
    content_type = part.get_content_type()
    if part.is_multipart():
        if content_type == "message/rfc822" or part.get_content_maintype() == "message":
            _attached_message(part, parsed, bodies, limits)
            return []
        payload = part.get_payload()
        return list(payload) if isinstance(payload, list) else []
    if part.get_content_maintype() == "multipart":
        # Parts announced but none found (no boundary, or one never used): the body is shown as
        # text, boundary lines and all, rather than hidden in an attachment (the .eml is kept).
        bodies.texts.append(_decoded_text(part, parsed))
        return []
    disposition = _disposition(part)
    name = _file_name(part)
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not name:
        text = _decoded_text(part, parsed)
        (bodies.texts if content_type == "text/plain" else bodies.htmls).append(text)
        return []
    data = part.get_payload(decode=True) or b""
    if content_type in TNEF_TYPES or name.lower() == "winmail.dat":
        _add_tnef(data, name or "winmail.dat", parsed, bodies, limits)
        return []
    _add_attachment(parsed, bodies, limits, name, content_type, data, _is_inline(part, disposition))
    return []


def _attached_message(part: Message, parsed: ParsedMail, bodies: _Bodies, limits: ParseLimits) -> None:
    """A forwarded-as-attachment mail: kept as an ``.eml`` file, its sender the original sender."""
    inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
    if inner is None:
        return
    data = inner.as_bytes(policy=policy.default.clone(max_line_length=0))
    inner_subject = headers.subject(inner)
    name = _file_name(part) or f"{(inner_subject or 'message')[:80]}.eml"
    _add_attachment(parsed, bodies, limits, name, "message/rfc822", data, False)
    if parsed.original_sender is None:
        parsed.original_sender = headers.sender(inner)


def _add_attachment(
    parsed: ParsedMail,
    bodies: _Bodies,
    limits: ParseLimits,
    name: str,
    declared: str,
    data: bytes,
    inline: bool,
) -> None:
    if bodies.attachment_bytes + len(data) > limits.max_attachment_bytes:
        parsed.problems.append(
            f"the attachment {name or 'without a name'} was left out: the attachments together are larger "
            f"than {limits.max_attachment_bytes // (1024 * 1024)} MB"
        )
        return
    bodies.attachment_bytes += len(data)
    content_type = real_content_type(declared, name, data)
    if not name:
        name = f"attachment-{len(parsed.attachments) + 1}{extension_for(content_type)}"
    parsed.attachments.append(Attachment(name=name, content_type=content_type, data=data, inline=inline))


def _add_tnef(data: bytes, name: str, parsed: ParsedMail, bodies: _Bodies, limits: ParseLimits) -> None:
    unpacked = tnef.unpack(data)
    if unpacked is None:
        parsed.problems.append(f"the Outlook attachment {name} could not be unpacked; it is kept as it came")
        _add_attachment(parsed, bodies, limits, name, "application/ms-tnef", data, False)
        return
    for file_name, file_data in unpacked.files:
        _add_attachment(parsed, bodies, limits, file_name, "application/octet-stream", file_data, False)
    if unpacked.html:
        bodies.htmls.append(unpacked.html)
    elif unpacked.text:
        bodies.texts.append(unpacked.text)


def _decoded_text(part: Message, parsed: ParsedMail) -> str:
    payload = part.get_payload(decode=True) or b""
    text, problem = decode_text(payload, part.get_content_charset())
    if problem:
        parsed.problems.append(problem)
    return text


def _set_bodies(parsed: ParsedMail, bodies: _Bodies, limits: ParseLimits) -> None:
    html = "\n".join(part for part in bodies.htmls if part.strip()) or None
    if html is not None and len(html) > limits.max_html_chars:
        parsed.problems.append(
            f"the HTML body is longer than {limits.max_html_chars:,} characters; the rest was left out"
        )
        html = html[: limits.max_html_chars]
    parsed.html = html
    texts = [part for part in bodies.texts if part.strip()]
    text = "\n\n".join(texts) if texts else html_to_text(html or "")
    text = tidy(text)
    if len(text) > limits.max_text_chars:
        parsed.problems.append(
            f"the text is longer than {limits.max_text_chars:,} characters; the rest was left out"
        )
        text = text[: limits.max_text_chars]
    parsed.text = text


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _is_inline(part: Message, disposition: str) -> bool:
    if disposition == "inline":
        return True
    return disposition != "attachment" and bool(headers.header_text(part, "content-id"))


def _file_name(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):  # RFC 2231 value the parser left undecoded
        name = str(name[2])
    name = repair_surrogates(str(name)).replace("\\", "/").split("/")[-1]
    return " ".join(name.split())[:255]


def _describe(part: Message) -> str:
    try:
        name = _file_name(part)
        kind = part.get_content_type()
    except Exception:
        return "of an unknown kind"
    return f"{kind}, {name}" if name else kind


_DEFECT_WORDS = {
    "StartBoundaryNotFoundDefect": "the message says it has parts but their boundary never appears",
    "CloseBoundaryNotFoundDefect": "the message ends before its last part does (it may be cut short)",
    "MultipartInvariantViolationDefect": "the message says it has parts but none could be found",
    "NoBoundaryInMultipartDefect": "the message says it has parts but gives no boundary between them",
    "InvalidBase64PaddingDefect": "an attachment's encoding is damaged; it may be incomplete",
    "InvalidBase64CharactersDefect": "an attachment's encoding is damaged; it may be incomplete",
    "InvalidBase64LengthDefect": "an attachment's encoding is damaged; it may be incomplete",
}


def _defects(message: Message) -> list[str]:
    """Structural damage the parser noticed, in words, once each."""
    found: list[str] = []
    stack = [message]
    seen = 0
    while stack and seen < 2_000:
        part = stack.pop()
        seen += 1
        for defect in getattr(part, "defects", []):
            words = _DEFECT_WORDS.get(type(defect).__name__)
            if words and words not in found:
                found.append(words)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(payload)
    return found
