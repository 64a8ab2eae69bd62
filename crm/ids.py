"""Identifiers: strings, time-ordered UUIDs (version 7, RFC 9562) when the caller gives none.

Within one millisecond a 12-bit counter keeps the ids of one process in order
(RFC 9562's method 1); the other 62 bits are random. Random bytes are read
from the operating system a few kilobytes at a time, not once per id, because
bulk writers (the CSV import) make several ids per row.
"""

from __future__ import annotations

import os
import threading
import time

_POOL_BYTES = 8 * 512
_lock = threading.Lock()
_pool = b""
_offset = 0
_last_ms = 0
_counter = 0


def _random_bits() -> int:
    global _pool, _offset
    if _offset >= len(_pool):
        _pool, _offset = os.urandom(_POOL_BYTES), 0
    chunk = _pool[_offset : _offset + 8]
    _offset += 8
    return int.from_bytes(chunk, "big")


def new_id() -> str:
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        random = _random_bits()
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, random >> 53  # start low in the counter's range
        else:
            _counter += 1
            if _counter > 0xFFF:  # over 4,096 ids in one millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, 0
        value = (_last_ms & 0xFFFF_FFFF_FFFF) << 80
        value |= 0x7 << 76 | _counter << 64 | 0b10 << 62 | random & 0x3FFF_FFFF_FFFF_FFFF
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
