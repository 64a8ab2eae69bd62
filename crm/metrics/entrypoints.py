"""``EntrypointMetrics``: counts and times every RPC and event entrypoint of a container.

nameko calls a dependency provider's ``worker_setup`` and ``worker_result`` around
every worker of its container, whatever the entrypoint, so one provider on the
``Pingable`` mixin that every service shares measures all of them. Each
entrypoint's label children are made once, at start: a worker costs two dict
lookups, a clock read and a counter and histogram update.

At start it also hooks the service's database, if it has one, into the process
metrics (``crm.metrics.database``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from crm.metrics import (
    EXPECTED_ERROR,
    FAILURE,
    OK,
    event_handling_duration,
    event_lag,
    events_handled,
    outcome_of,
    rpc_request_duration,
    rpc_requests,
)
from crm.metrics.database import watch_service_database

_STARTED = "crm_metrics_started"  # where a worker's start time is kept on its context


class _RpcSeries:
    __slots__ = ("outcomes", "duration")

    def __init__(self, service: str, method: str):
        self.outcomes = {
            outcome: rpc_requests.labels(service, method, outcome)
            for outcome in (OK, EXPECTED_ERROR, FAILURE)
        }
        self.duration = rpc_request_duration.labels(service, method)

    def started(self, worker_ctx: Any) -> None:
        pass

    def finished(self, error: BaseException | None, seconds: float) -> None:
        self.outcomes[outcome_of(error)].inc()
        self.duration.observe(seconds)


class _EventSeries:
    __slots__ = ("ok", "failure", "duration", "lag")

    def __init__(self, service: str, event: str):
        self.ok = events_handled.labels(service, event, OK)
        self.failure = events_handled.labels(service, event, FAILURE)
        self.duration = event_handling_duration.labels(service, event)
        self.lag = event_lag.labels(service, event)

    def started(self, worker_ctx: Any) -> None:
        occurred_at = occurred_at_of(worker_ctx.args)
        if occurred_at is not None:
            self.lag.observe(max(0.0, time.time() - occurred_at))

    def finished(self, error: BaseException | None, seconds: float) -> None:
        (self.ok if error is None else self.failure).inc()
        self.duration.observe(seconds)


def occurred_at_of(args: tuple) -> float | None:
    """The POSIX time of an event payload's ``occurred_at`` (crm.outbox.new_event), or None
    when the payload has none that reads as an ISO 8601 time with its offset."""
    payload = args[0] if args else None
    if not isinstance(payload, dict):
        return None
    moment = payload.get("occurred_at")
    if not isinstance(moment, str):
        return None
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def series_for(service: str, entrypoint: Any) -> _RpcSeries | _EventSeries | None:
    """What is measured for ``entrypoint``: RPC and event handlers; nothing for the others
    (the gateway's HTTP routes have their own metrics, timers have none)."""
    if isinstance(entrypoint, Rpc):
        return _RpcSeries(service, entrypoint.method_name)
    if isinstance(entrypoint, EventHandler):
        return _EventSeries(service, f"{entrypoint.source_service}.{entrypoint.event_type}")
    return None


class EntrypointMetrics(DependencyProvider):
    """Measures the RPC and event entrypoints of its container; see the module's docstring."""

    def setup(self) -> None:
        self.service = self.container.service_name
        self._series: dict[Any, _RpcSeries | _EventSeries] = {}
        for entrypoint in self.container.entrypoints:
            series = series_for(self.service, entrypoint)
            if series is not None:
                self._series[entrypoint] = series
        self._database: Any = None

    def start(self) -> None:
        self._database = watch_service_database(self.container)

    def stop(self) -> None:
        if self._database is not None:
            self._database.forget()
            self._database = None

    def kill(self) -> None:
        self.stop()

    def worker_setup(self, worker_ctx: Any) -> None:
        series = self._series.get(worker_ctx.entrypoint)
        if series is not None:
            series.started(worker_ctx)
            setattr(worker_ctx, _STARTED, time.perf_counter())

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        series = self._series.get(worker_ctx.entrypoint)
        started = getattr(worker_ctx, _STARTED, None)
        if series is None or started is None:
            return
        series.finished(exc_info[1] if exc_info else None, time.perf_counter() - started)
