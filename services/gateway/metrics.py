"""The gateway's HTTP metrics, and ``/metrics``: the process registry (crm.metrics), which the
gateway's ``metrics.port`` serves too."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.wrappers import Response

from crm.metrics import LATENCY_BUCKETS, REGISTRY

requests_total = Counter(
    "crm_http_requests_total",
    "HTTP requests answered by the gateway",
    ["method", "route", "status"],
)
request_duration = Histogram(
    "crm_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)


# (method, route template, status) -> its label children, made once: routes and methods are the
# gateway's own, so this stays as small as the route table.
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (
            requests_total.labels(method, route, str(status)),
            request_duration.labels(method, route),
        )
    series[0].inc()
    series[1].observe(seconds)


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST.split(";")[0])
