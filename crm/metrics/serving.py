"""Serving a process's metrics over HTTP: ``http://metrics.host:metrics.port/metrics``.

``CRM_METRICS_PORT`` overrides ``metrics.port`` (``crm run`` sets it for each of its processes);
0 serves nothing. A port another process holds is one log line, and this process runs on
without serving its metrics: measuring must never be why a service is down.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Mapping
from typing import Any

from prometheus_client import start_http_server

from crm.metrics import REGISTRY
from crm.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PORT_VARIABLE = "CRM_METRICS_PORT"


def metrics_port(settings: Settings, environ: Mapping[str, str] | None = None) -> int:
    """The port this process serves its metrics on: ``CRM_METRICS_PORT`` if set, else ``metrics.port``."""
    environ = os.environ if environ is None else environ
    value = environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return settings.metrics.port
    if not value.isdigit() or int(value) > 65535:
        raise SettingsError(f"{PORT_VARIABLE} must be a port number from 0 to 65535, not {value!r}")
    return int(value)


def ports_of_processes(base: int, count: int) -> list[int]:
    """The metrics ports of ``count`` processes started together: ``base + i``, or all 0 (off)."""
    if base == 0:
        return [0] * count
    if base + count - 1 > 65535:
        raise SettingsError(f"metrics.port {base} leaves no room for {count} processes (port + i > 65535)")
    return [base + i for i in range(count)]


def serve_metrics(host: str, port: int) -> Any:
    """Serve the process registry on ``host:port`` from a background thread; returns the server
    (``shutdown()`` stops it), or None when the port is 0 or cannot be had."""
    if port == 0:
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        why = (
            "is already in use"
            if exc.errno == errno.EADDRINUSE
            else f"cannot be listened on ({exc.strerror})"
        )
        log.warning(
            "metrics not served: %s:%d %s (metrics.host, metrics.port or %s); "
            "this process runs on without serving them",
            host,
            port,
            why,
            PORT_VARIABLE,
        )
        return None
    log.info("metrics at http://%s:%d/metrics", host, port)
    return server


def serve_process_metrics(settings: Settings) -> Any:
    """What ``crm serve`` calls: serve on ``metrics.host`` and this process's port."""
    return serve_metrics(settings.metrics.host, metrics_port(settings))
