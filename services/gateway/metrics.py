"""Prometheus metrics of the gateway, served at /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from werkzeug.wrappers import Response

registry = CollectorRegistry()

requests_total = Counter(
    "crm_http_requests_total",
    "HTTP requests answered by the gateway",
    ["method", "route", "status"],
    registry=registry,
)
request_duration = Histogram(
    "crm_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=registry,
)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    requests_total.labels(method, route, str(status)).inc()
    request_duration.labels(method, route).observe(seconds)


def metrics_response() -> Response:
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0])
