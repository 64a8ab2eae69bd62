"""Helpers for the provider tests: a webhook receiver on a real port, and a closed port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class ReceivedWebhook:
    url: str
    headers: Headers
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class WebhookReceiver:
    """Stands where our webhook endpoints would be: records every request and answers 200."""

    def __init__(self) -> None:
        self._received: list[ReceivedWebhook] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def received(self, path: str | None = None) -> list[ReceivedWebhook]:
        with self._lock:
            return [hook for hook in self._received if path is None or hook.url.endswith(path)]

    def _app(self, environ, start_response):
        request = Request(environ)
        hook = ReceivedWebhook(request.url, Headers(request.headers), request.get_data())
        with self._lock:
            self._received.append(hook)
        return Response("ok")(environ, start_response)


def closed_port_url() -> str:
    """The address of a port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def silent_api_url() -> Iterator[str]:
    """The address of a port that accepts connections and never answers: a request reaches it,
    so whether it was taken cannot be known when the client gives up waiting."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        yield f"http://127.0.0.1:{silent.getsockname()[1]}"
