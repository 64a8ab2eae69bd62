"""A minimal keep-alive HTTP client for load generation (green sockets)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any


def get_caller(host: str, port: int, path: str, headers: dict[str, str]) -> Callable[[], bool]:
    return send_caller(host, port, lambda: ("GET", path, None), headers, ok=(200,))


def send_caller(
    host: str,
    port: int,
    next_request: Callable[[], tuple[str, str, Any]],
    headers: dict[str, str],
    ok: tuple[int, ...] = (200, 201),
) -> Callable[[], bool]:
    """A caller sending ``next_request()``'s (method, path, JSON body or None) on one connection."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    with_body = {**headers, "Content-Type": "application/json"}

    def call() -> bool:
        nonlocal connection
        method, path, body = next_request()
        try:
            if body is None:
                connection.request(method, path, headers=headers)
            else:
                connection.request(method, path, body=json.dumps(body), headers=with_body)
            response = connection.getresponse()
            response.read()
            return response.status in ok
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            return False

    return call
