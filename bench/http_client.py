"""A minimal keep-alive HTTP client for load generation (green sockets)."""

from __future__ import annotations

import http.client
from collections.abc import Callable


def get_caller(host: str, port: int, path: str, headers: dict[str, str]) -> Callable[[], bool]:
    connection = http.client.HTTPConnection(host, port, timeout=30)

    def call() -> bool:
        nonlocal connection
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            return False

    return call
