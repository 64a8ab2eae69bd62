"""Reading a message's DATA by the stretch, not by the line (RFC 5321 section 4.5.2).

aiosmtpd reads DATA one line at a time: an await, a log call and a few list operations for every
line, which was half of the listener's CPU (a scanned PDF in base64 is thousands of lines).
``read_data`` reads up to each ``.<CR><LF>`` instead (a line ending in a dot, or the end), and
answers what aiosmtpd's loop would: the lines as sent, transparency removed, the end line left
out; or ``None`` when the message was over the size limit (drained to its end, nothing kept).
"""

from __future__ import annotations

import asyncio

END = b"\r\n.\r\n"  # the end of the data: a line holding a single dot
DOT_LINE_END = b".\r\n"


async def read_data(reader: asyncio.StreamReader, limit: int | None) -> bytes | None:
    """The message on ``reader`` up to its end line; ``None`` if it held over ``limit`` bytes.

    A connection closed midway cancels the caller (aiosmtpd's ``eof_received``), as with
    aiosmtpd's own loop.
    """
    stretches: list[bytes] = []
    size = 0  # the lines' bytes as sent (transparency dots included), as aiosmtpd counts them
    before = b"\r\n"  # the last two bytes read: the data begins at the start of a line
    too_much = False
    while True:
        try:
            stretch = await reader.readuntil(DOT_LINE_END)
            ends = (before + stretch[-5:]).endswith(END)
        except asyncio.LimitOverrunError as overrun:
            # No ".\r\n" within the reader's limit: take what can be taken without splitting one.
            stretch = await reader.readexactly(overrun.consumed)
            ends = False
        if ends:
            size += len(stretch) - len(DOT_LINE_END)
            if not too_much:
                stretches.append(stretch[: -len(DOT_LINE_END)])
            break
        size += len(stretch)
        before = (before + stretch)[-2:]
        if limit and size > limit:
            too_much = True
            stretches.clear()
        elif not too_much:
            stretches.append(stretch)
    if too_much or (limit and size > limit):
        return None
    return unstuff(b"".join(stretches))


def unstuff(data: bytes) -> bytes:
    """Transparency removed: the first dot of each line that begins with one."""
    data = data.replace(b"\r\n.", b"\r\n")
    return data[1:] if data.startswith(b".") else data
