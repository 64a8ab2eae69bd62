"""The metrics toolkit's decisions (outcomes, event lag, ports) and its HTTP server."""

from __future__ import annotations

import logging
import socket
import sys
import types

import pytest
import requests
from prometheus_client.core import GaugeMetricFamily

from crm.errors import InvalidInput, NotFound, RateLimited, ServiceUnavailable
from crm.metrics import REGISTRY, CallSeries, outcome_of
from crm.metrics.database import register_service_collectors
from crm.metrics.entrypoints import occurred_at_of
from crm.metrics.serving import metrics_port, ports_of_processes, serve_metrics
from crm.settings import Settings, SettingsError


def test_a_callers_mistake_is_an_expected_error_and_an_outage_or_a_defect_a_failure():
    assert outcome_of(None) == "ok"
    assert outcome_of(InvalidInput("email: not an address")) == "expected_error"
    assert outcome_of(NotFound("no such contact")) == "expected_error"
    assert outcome_of(RateLimited("too many logins")) == "expected_error"
    assert outcome_of(ServiceUnavailable("accounts did not answer")) == "failure"
    assert outcome_of(KeyError("org_id")) == "failure"


def test_the_lag_starts_at_the_events_occurred_at_with_its_offset():
    assert occurred_at_of(({"occurred_at": "2026-11-22T09:00:00+00:00"},)) == 1795338000.0
    assert occurred_at_of(({"occurred_at": "2026-11-22T10:00:00+01:00"},)) == 1795338000.0


@pytest.mark.parametrize(
    "args",
    [(), ("Chambre 404",), ({},), ({"occurred_at": 1795338000},), ({"occurred_at": "hier"},)]
    + [({"occurred_at": "2026-11-22T09:00:00"},)],  # no offset: no instant to measure from
)
def test_an_event_without_a_readable_occurred_at_has_no_lag(args):
    assert occurred_at_of(args) is None


def test_the_environment_chooses_the_port_over_the_settings():
    settings = Settings.model_validate({"metrics": {"port": 9500}})

    assert Settings().metrics.port == 9400 and Settings().metrics.host == "127.0.0.1"
    assert metrics_port(settings, {}) == 9500
    assert metrics_port(settings, {"CRM_METRICS_PORT": ""}) == 9500
    assert metrics_port(settings, {"CRM_METRICS_PORT": "9612"}) == 9612
    assert metrics_port(settings, {"CRM_METRICS_PORT": "0"}) == 0
    for bad in ("neuf mille", "-1", "70000"):
        with pytest.raises(SettingsError, match="CRM_METRICS_PORT must be a port number"):
            metrics_port(settings, {"CRM_METRICS_PORT": bad})


def test_processes_started_together_get_the_next_ports_or_none_at_all():
    assert ports_of_processes(9400, 3) == [9400, 9401, 9402]
    assert ports_of_processes(0, 3) == [0, 0, 0]
    with pytest.raises(SettingsError, match="no room for 3 processes"):
        ports_of_processes(65534, 3)


def test_crm_run_says_which_process_serves_on_which_port():
    from cli.main import metrics_banner

    assert metrics_banner("127.0.0.1", ["accounts", "contacts", "contacts"], [9400, 9401, 9402]) == (
        "http://127.0.0.1:<port>/metrics: accounts 9400, contacts 9401, contacts 9402"
    )
    assert metrics_banner("127.0.0.1", ["accounts"], [0]) == "not served (metrics.port is 0)"


def test_the_metrics_port_answers_with_the_process_registry():
    assert serve_metrics("127.0.0.1", 0) is None  # 0: off
    server = serve_metrics("127.0.0.1", _free_port())
    try:
        port = server.server_address[1]
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        server.server_close()
    assert 'crm_build_info{version="' in text
    assert "process_cpu_seconds_total" in text and "python_info" in text
    assert "_created" not in text


def test_a_taken_port_is_one_warning_and_nothing_served(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="crm.metrics.serving"):
            assert serve_metrics("127.0.0.1", port) is None
    (record,) = caplog.records
    assert record.getMessage() == (
        f"metrics not served: 127.0.0.1:{port} is already in use (metrics.host, metrics.port or "
        "CRM_METRICS_PORT); this process runs on without serving them"
    )
    assert record.exc_info is None


def test_client_side_label_children_are_made_once_per_method_and_outcome():
    series = CallSeries("gateway", "contacts")
    series.observe("get_contact", "ok", 0.002)
    series.observe("get_contact", "ok", 0.003)
    series.observe("get_contact", "timeout", 10.0)

    labels = {"service": "gateway", "target": "contacts", "method": "get_contact"}
    assert REGISTRY.get_sample_value("crm_rpc_calls_total", {**labels, "outcome": "ok"}) >= 2
    assert len(series._counters) == 2


class _Rooms:
    def __init__(self, name: str):
        self.name = name

    def describe(self):
        yield GaugeMetricFamily(self.name, "Rooms of the probe")

    def collect(self):
        yield GaugeMetricFamily(self.name, "Rooms of the probe", value=404)


def _install(monkeypatch, service: str, collectors) -> None:
    module = types.ModuleType(f"services.{service}.metrics")
    if collectors is not None:
        module.collectors = collectors
    monkeypatch.setitem(sys.modules, f"services.{service}.metrics", module)


def test_a_name_two_collectors_share_is_logged_not_raised(monkeypatch, caplog):
    made = [_Rooms("crm_probe_rooms"), _Rooms("crm_probe_rooms")]
    _install(monkeypatch, "rooms_twice", lambda engine: made)
    try:
        with caplog.at_level(logging.ERROR, logger="crm.metrics.database"):
            register_service_collectors("rooms_twice", engine=None)
            register_service_collectors("rooms_twice", engine=None)
        assert REGISTRY.get_sample_value("crm_probe_rooms") == 404
        assert [record.getMessage().split(":")[0] for record in caplog.records] == [
            "a metric of rooms_twice is not served"
        ]
    finally:
        REGISTRY.unregister(made[0])


def test_a_service_without_metrics_module_or_collectors_has_none(monkeypatch):
    register_service_collectors("no_such_service", engine=None)
    _install(monkeypatch, "rooms_without_collectors", None)
    register_service_collectors("rooms_without_collectors", engine=None)


def test_collectors_that_fail_to_be_made_are_logged_and_the_service_runs_on(monkeypatch, caplog):
    def broken(engine):
        raise RuntimeError("the rooms table is missing")

    _install(monkeypatch, "rooms_broken", broken)
    with caplog.at_level(logging.ERROR, logger="crm.metrics.database"):
        register_service_collectors("rooms_broken", engine=None)
    assert [record.getMessage() for record in caplog.records] == [
        "the metrics of rooms_broken cannot be made"
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
