"""Logs an operator can read: one line per expected error, a request id on every line.

The gateway takes a request id from ``X-Request-ID`` (or makes one) and puts it in
the nameko context data, which RPC carries to every service it calls; events carry
it in their payload. Each worker's request id, and the caller named by its access
token, live in a per-greenthread context that ``RequestScopedContainer`` binds
around every worker, so log lines and new events find them without being handed
them. Lines go out as JSON (python-json-logger) or as text for a terminal.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jwt
from eventlet.greenpool import GreenPool
from nameko.containers import ServiceContainer
from nameko.events import EventHandler
from nameko.exceptions import RemoteError
from pythonjsonlogger.json import JsonFormatter
from werkzeug.exceptions import HTTPException

from crm.errors import CrmError, Unauthenticated
from crm.ids import new_id

REQUEST_ID_KEY = "request_id"
REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "crm.access"
# What a proxy or a client may send as a request id; anything else is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/@-]{1,128}")
_API_TOKEN_PREFIX = "crm_"


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` if it is short and plain, else a new id."""
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return new_id()


@dataclass
class RequestContext:
    """What log lines and events of one worker (or one HTTP request) are stamped with."""

    request_id: str | None
    # The worker's context data: the access token is read from it when a line needs the caller
    # (the gateway swaps an API token for an access token in it during the worker).
    data: dict[str, Any] = field(default_factory=dict)
    _caller: tuple[str | None, str | None] | None = None

    def caller(self) -> tuple[str | None, str | None]:
        """(org id, user id) named by the access token, for logs only (see ``ContextFilter``)."""
        if self._caller is None:
            # Imported here: crm.auth imports the outbox, which imports this module.
            from crm.auth import ACCESS_TOKEN_KEY

            self._caller = _claimed_caller(self.data.get(ACCESS_TOKEN_KEY))
        return self._caller


def _claimed_caller(token: Any) -> tuple[str | None, str | None]:
    if not isinstance(token, str) or not token or token.startswith(_API_TOKEN_PREFIX):
        return None, None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None, None
    org_id, user_id = claims.get("org"), claims.get("sub")
    return (str(org_id) if org_id else None), (str(user_id) if user_id else None)


_current: ContextVar[RequestContext | None] = ContextVar("crm_request_context", default=None)


def bind(context: RequestContext | None) -> Any:
    """Make ``context`` the current greenthread's; returns the token ``unbind`` takes."""
    return _current.set(context)


def unbind(token: Any) -> None:
    _current.reset(token)


def current_request_id() -> str | None:
    """The request id of the worker running in this greenthread, if it has one."""
    context = _current.get()
    return context.request_id if context is not None else None


def worker_request_id(worker_ctx: Any) -> str | None:
    """A worker's request id: from the RPC context data, or from the event it handles."""
    request_id = worker_ctx.data.get(REQUEST_ID_KEY)
    if request_id is None and isinstance(worker_ctx.entrypoint, EventHandler) and worker_ctx.args:
        payload = worker_ctx.args[0]
        request_id = payload.get(REQUEST_ID_KEY) if isinstance(payload, dict) else None
    return str(request_id) if request_id else None


class WorkerPools:
    """nameko's worker pool split in two of ``max_workers`` each: the event handlers' workers,
    and those of the calls someone waits on (RPC, HTTP, timers).

    nameko takes every worker from one pool, and each message delivered waits there for a free
    one: a backlog of events (each queue's prefetch is ``max_workers``) then stood before a
    phone's pull, which waited seconds in sync for a worker while the pull itself took one
    (bench/capacity.md)."""

    def __init__(self, size: int):
        self.calls = GreenPool(size=size)
        self.events = GreenPool(size=size)

    def spawn(self, run: Any, worker_ctx: Any, *args: Any) -> Any:
        pool = self.events if isinstance(worker_ctx.entrypoint, EventHandler) else self.calls
        return pool.spawn(run, worker_ctx, *args)

    def waitall(self) -> None:
        self.calls.waitall()
        self.events.waitall()


class RequestScopedContainer(ServiceContainer):
    """nameko's container, binding each worker's ``RequestContext`` for as long as it runs
    (chosen by ``SERVICE_CONTAINER_CLS`` in ``Settings.nameko_config``), with the event
    handlers' workers apart from the others' (``WorkerPools``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._worker_pool = WorkerPools(self.max_workers)
        install_expected_error_filter()

    def _worker_setup(self, worker_ctx: Any) -> None:
        bind(RequestContext(worker_request_id(worker_ctx), worker_ctx.data))
        super()._worker_setup(worker_ctx)

    def _worker_teardown(self, worker_ctx: Any) -> None:
        try:
            super()._worker_teardown(worker_ctx)
        finally:
            bind(None)


def is_client_error(exc: BaseException) -> bool:
    """An answer to a caller's mistake (a 4xx), not a defect or an outage."""
    if isinstance(exc, CrmError):
        return exc.client_error
    return isinstance(exc, HTTPException) and exc.code is not None and 400 <= exc.code < 500


class ExpectedErrorFilter(logging.Filter):
    """Turns nameko's "(expected) error handling worker" record, which carries a traceback,
    into one line for a client error and for a remote error (its traceback is in the log of
    the service that raised it). Anything else keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.args, tuple) and len(record.args) == 2):
            return True
        worker_ctx, exc = record.args
        if not isinstance(exc, BaseException) or not hasattr(worker_ctx, "entrypoint"):
            return True
        where = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        if is_client_error(exc):
            record.msg, record.args = "%s answered %s: %s", (where, type(exc).__name__, exc)
            record.hide_caller = isinstance(exc, Unauthenticated)
        elif isinstance(exc, RemoteError):
            record.msg, record.args = "%s got a remote error: %s", (where, exc)
            record.levelno, record.levelname = logging.ERROR, "ERROR"
        else:
            return True
        record.exc_info, record.exc_text = None, None
        return True


_expected_error_filter = ExpectedErrorFilter()


def install_expected_error_filter() -> None:
    """Idempotent: every container calls it."""
    logger = logging.getLogger("nameko.containers")
    if _expected_error_filter not in logger.filters:
        logger.addFilter(_expected_error_filter)


class ContextFilter(logging.Filter):
    """Stamps every record with the service and the current request id and caller.

    The caller is read from the access token without checking it (the worker checks it):
    a line about a refused token (``hide_caller``) names no caller.
    """

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        context = _current.get()
        org_id = user_id = None
        if context is not None and not getattr(record, "hide_caller", False):
            org_id, user_id = context.caller()
        record.request_id = getattr(record, "request_id", None) or (context and context.request_id)
        record.org_id, record.user_id = org_id, user_id
        named = (("request", record.request_id), ("org", org_id), ("user", user_id))
        parts = [f"{name}={value}" for name, value in named if value]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(service)s %(name)s%(context)s: %(message)s"


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: timestamp, level, service, logger, message, then what is known."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(service)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "traceback"},
            timestamp=True,
            reserved_attrs=[*_RESERVED, "context", "hide_caller"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        timestamp = log_data.pop("timestamp", None)
        return {"timestamp": timestamp} | {key: value for key, value in log_data.items() if value is not None}


_RESERVED = list(logging.makeLogRecord({}).__dict__) + ["message", "asctime"]


def wants_json(log_format: str, stream: Any = None) -> bool:
    """``auto`` is text on a terminal and JSON anywhere else (a file, a container's log)."""
    if log_format == "auto":
        stream = stream if stream is not None else sys.stderr
        return not (hasattr(stream, "isatty") and stream.isatty())
    return log_format == "json"


def configure_logging(level: str, log_format: str, service: str, stream: Any = None) -> logging.Handler:
    """Send every log line of this process to ``stream`` (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter(service))
    json_lines = wants_json(log_format, handler.stream)
    handler.setFormatter(JsonLineFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    # Twilio's SDK logs each request's headers and body at INFO.
    for noisy in ("nameko", "kombu", "amqp", "twilio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    install_expected_error_filter()
    return handler


def log_access(method: str, route: str, status: int, duration_seconds: float, request_id: str) -> None:
    """The access-log line of one HTTP request (``gateway.access_log`` switches it off)."""
    duration_ms = round(duration_seconds * 1000, 1)
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s %.1f ms",
        method,
        route,
        status,
        duration_ms,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
            "hide_caller": status == 401,
        },
    )
