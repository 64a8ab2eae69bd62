"""The listener's DATA reader answers what a line-by-line reader would, however the bytes arrive."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from services.mailin.smtp.data import read_data

NEXT_COMMAND = b"QUIT\r\n"


def by_the_line(stream: bytes, limit: int | None) -> tuple[bytes | None, bytes]:
    """RFC 5321's reading, one line at a time as aiosmtpd does: (message or None, what follows)."""
    lines, size, position = [], 0, 0
    while True:
        end = stream.index(b"\r\n", position) + 2
        line, position = stream[position:end], end
        if line == b".\r\n":
            break
        size += len(line)
        lines.append(line[1:] if line.startswith(b".") else line)
    message = None if limit and size > limit else b"".join(lines)
    return message, stream[position:]


def read(stream: bytes, limit: int | None, chunks: list[int], reader_limit: int = 2**16):
    """``read_data`` over ``stream`` fed in pieces of the given sizes; (message, what is left)."""

    async def run():
        reader = asyncio.StreamReader(limit=reader_limit)
        position = 0
        for size in chunks:
            reader.feed_data(stream[position : position + size])
            position += size
        reader.feed_data(stream[position:])
        reader.feed_eof()
        message = await read_data(reader, limit)
        return message, await reader.read()

    return asyncio.run(run())


def test_a_message_ends_at_its_dot_line_and_leaves_the_next_command():
    stream = b"Subject: hi\r\n\r\nRegards.\r\n..hidden dot\r\n.\r\n" + NEXT_COMMAND
    assert read(stream, None, []) == (b"Subject: hi\r\n\r\nRegards.\r\n.hidden dot\r\n", NEXT_COMMAND)


def test_an_empty_message_is_the_dot_line_alone():
    assert read(b".\r\n" + NEXT_COMMAND, None, []) == (b"", NEXT_COMMAND)


def test_the_end_split_across_packets_is_found():
    stream = b"a\r\nb.\r\n.\r\n" + NEXT_COMMAND
    for cut in range(len(stream)):
        assert read(stream, None, [cut]) == (b"a\r\nb.\r\n", NEXT_COMMAND), cut


def test_a_message_over_the_limit_is_drained_to_its_end_and_kept_nowhere():
    body = b"x" * 70 + b"\r\n"
    stream = body * 100 + b".\r\n" + NEXT_COMMAND
    assert read(stream, len(body) * 100, []) == (body * 100, NEXT_COMMAND)
    assert read(stream, len(body) * 100 - 1, []) == (None, NEXT_COMMAND)
    # A reader whose limit is smaller than the message (the listener's is the size limit + 2).
    assert read(stream, len(body) * 50, [], reader_limit=len(body) * 50 + 2) == (None, NEXT_COMMAND)


def test_lines_longer_than_the_readers_limit_are_read_whole_when_the_size_allows():
    stream = b"y" * 5000 + b"\r\n\r\n.\r\n" + NEXT_COMMAND
    assert read(stream, None, [], reader_limit=100) == (b"y" * 5000 + b"\r\n\r\n", NEXT_COMMAND)


lines = st.lists(
    st.one_of(
        st.sampled_from([b"", b".", b"..", b"...", b"a.", b".a", b"\r", b"\n", b". ", b"\r.", b"\n."]),
        st.binary(max_size=12).map(lambda b: b.replace(b"\r\n", b"")),
    ),
    max_size=12,
).map(lambda ls: [line.replace(b"\r\n", b"") for line in ls])


@settings(max_examples=400, deadline=None)
@given(
    lines,
    st.lists(st.integers(min_value=1, max_value=9), max_size=6),
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
    st.integers(min_value=4, max_value=40),
)
def test_any_message_read_in_any_pieces_equals_the_line_by_line_reading(lines, chunks, limit, reader_limit):
    # Each line as a client sends it: transparency added, so no line of the message ends the data.
    sent = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    stream = sent + b".\r\n" + NEXT_COMMAND
    assert read(stream, limit, chunks, reader_limit) == by_the_line(stream, limit)
