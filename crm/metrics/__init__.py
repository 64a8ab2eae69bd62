"""The metrics every process exposes, on prometheus_client's default registry.

``prometheus_client.REGISTRY`` is the process registry: it already holds the
``process_*`` and ``python_*`` collectors, and whatever serves metrics (the
``metrics.port`` server, the gateway's ``/metrics``) serves it. The names and
their labels are a contract with the dashboards and alerts (docs/metrics.md):
``service`` is always the nameko service name of the process, and label values
come from code (method and event names), never from requests.

Where each is measured: ``crm.metrics.entrypoints`` (RPC and event entrypoints),
``crm.rpc`` (calls), ``crm.outbox`` (the relay), ``crm.metrics.database``
(outbox backlog, pools, statements, the services' own collectors) and
``crm.metrics.serving`` (the HTTP server).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

from crm.errors import CrmError

__all__ = ["REGISTRY", "outcome_of"]

# Without this every counter and histogram also exports a ``_created`` series per label set,
# doubling the series a scrape carries for a value no dashboard reads.
disable_created_metrics()

OK = "ok"
EXPECTED_ERROR = "expected_error"
FAILURE = "failure"
TIMEOUT = "timeout"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Alerts fire on a lag over 60 s: the buckets reach well past it.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

rpc_requests = Counter(
    "crm_rpc_requests_total",
    "RPC requests a service answered, by outcome: ok, expected_error (a CrmError the caller is "
    "told about), failure (anything else, an outage of a service it depends on included)",
    ["service", "method", "outcome"],
)
rpc_request_duration = Histogram(
    "crm_rpc_request_duration_seconds",
    "Time a service took to answer an RPC request, reply included",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
rpc_calls = Counter(
    "crm_rpc_calls_total",
    "RPC calls a process made to another service, by outcome: ok, expected_error, failure, "
    "timeout (no answer within gateway.rpc_timeout_seconds)",
    ["service", "target", "method", "outcome"],
)
rpc_call_duration = Histogram(
    "crm_rpc_call_duration_seconds",
    "Time from sending an RPC call to its answer (or to giving up)",
    ["service", "target"],
    buckets=LATENCY_BUCKETS,
)
events_handled = Counter(
    "crm_events_handled_total",
    "Events a service handled, by event (<source service>.<event type>) and outcome: ok or failure",
    ["service", "event", "outcome"],
)
event_handling_duration = Histogram(
    "crm_event_handling_duration_seconds",
    "Time a service took to handle an event",
    ["service", "event"],
    buckets=LATENCY_BUCKETS,
)
event_lag = Histogram(
    "crm_event_lag_seconds",
    "Time from an event's occurred_at to the start of its handling",
    ["service", "event"],
    buckets=LAG_BUCKETS,
)
outbox_published = Counter(
    "crm_outbox_published_total",
    "Outbox rows the relay published (the broker confirmed them)",
    ["service"],
)
statement_duration = Histogram(
    "crm_db_statement_duration_seconds",
    "Time of one SQL statement on the service's database, cursor execution only",
    ["service"],
    buckets=STATEMENT_BUCKETS,
)
build_info = Gauge("crm_build_info", "Always 1; the version of the code this process runs", ["version"])


def package_version() -> str:
    try:
        return version("crm-backend")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


build_info.labels(package_version()).set(1)


def outcome_of(error: BaseException | None) -> str:
    """``ok``, ``expected_error`` for a caller's mistake (a CrmError, a 4xx at the gateway), or
    ``failure``: any other exception, and ``ServiceUnavailable`` (an outage, a 503)."""
    if error is None:
        return OK
    if isinstance(error, CrmError) and error.client_error:
        return EXPECTED_ERROR
    return FAILURE


class CallSeries:
    """The client-side series of one caller service towards one target, children cached: a call
    looks up a dict rather than building a label set."""

    def __init__(self, service: str, target: str):
        self.service = service
        self.target = target
        self.duration = rpc_call_duration.labels(service, target)
        self._counters: dict[tuple[str, str], Counter] = {}

    def observe(self, method: str, outcome: str, seconds: float) -> None:
        key = (method, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = rpc_calls.labels(self.service, self.target, method, outcome)
        counter.inc()
        self.duration.observe(seconds)
