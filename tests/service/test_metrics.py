"""The process metrics of a running service, on the real broker and database: what its RPC
entrypoints, calls, event handlers and outbox show on the process registry."""

from __future__ import annotations

import sys
import time
import types
import uuid
from datetime import timedelta

import pytest
from kombu import Connection
from nameko.events import event_handler
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.database import Database, create_service_engine
from crm.errors import InvalidInput
from crm.health import Pingable
from crm.metrics import REGISTRY
from crm.metrics.database import OutboxBacklog, read_outbox_backlog
from crm.outbox import OutboxRelay, record_event
from crm.rpc import RpcClient, rpc
from crm.times import utcnow
from tests.broker import publish_event
from tests.service.conftest import create_probe_schema, notes, probe_metadata

SERVICE = "metrics_probe"


class MetricsProbe(Pingable):
    name = SERVICE
    db = Database(probe_metadata)
    itself = RpcClient(SERVICE)
    nobody = RpcClient("nobody_home")

    @rpc
    def book_room(self, room: str) -> str:
        if room == "Chambre 404":
            raise InvalidInput("room: Chambre 404 does not exist")
        if room == "Salle des machines":
            raise RuntimeError("the boiler room cannot be booked")
        return f"{room} booked"

    @rpc
    def book_through_rpc(self, room: str) -> str:
        return self.itself.book_room(room)

    @rpc
    def ask_nobody(self) -> str:
        return self.nobody.anything()

    @rpc
    def add_note(self, body: str) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(notes.insert().values(body=body))
            uow.emit("note_added", org_id="org-pomme", actor_id="user-alice", record={"body": body})

    @event_handler("outbox_probe", "note_added")
    def on_note_added(self, payload: dict) -> None:
        if payload["record"]["body"] == "illisible":
            raise RuntimeError("this note cannot be read")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def wait_for(condition, timeout: float = 5.0) -> None:
    """The counters move once the worker is done, just after the caller had its answer."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def probe_config(settings):
    create_probe_schema(settings, SERVICE)
    with Connection(settings.amqp_uri) as connection:  # the event queue as earlier runs left it
        connection.default_channel.queue_delete(f"evt-outbox_probe-note_added--{SERVICE}.on_note_added")
    impatient = settings.model_copy(
        update={"gateway": settings.gateway.model_copy(update={"rpc_timeout_seconds": 1})}
    )
    return impatient.nameko_config()


@pytest.fixture
def probe(container_factory, probe_config):
    container = container_factory(MetricsProbe, probe_config)
    container.start()
    return container


def rpc_outcomes(method: str) -> dict[str, float]:
    return {
        outcome: value("crm_rpc_requests_total", service=SERVICE, method=method, outcome=outcome)
        for outcome in ("ok", "expected_error", "failure")
    }


def test_rpc_requests_are_counted_by_outcome_and_timed(probe, probe_config):
    before = rpc_outcomes("book_room")
    timed_before = value("crm_rpc_request_duration_seconds_count", service=SERVICE, method="book_room")

    with ClusterRpcProxy(probe_config, timeout=10) as cluster:
        assert cluster.metrics_probe.book_room("Salle Pomme") == "Salle Pomme booked"
        assert cluster.metrics_probe.book_room("Salle Poire") == "Salle Poire booked"
        with pytest.raises(InvalidInput):
            cluster.metrics_probe.book_room("Chambre 404")
        with pytest.raises(Exception, match="boiler room"):
            cluster.metrics_probe.book_room("Salle des machines")

    def counted() -> dict[str, float]:
        return {key: count - before[key] for key, count in rpc_outcomes("book_room").items()}

    wait_for(lambda: sum(counted().values()) >= 4)
    assert counted() == {"ok": 2, "expected_error": 1, "failure": 1}
    timed = value("crm_rpc_request_duration_seconds_count", service=SERVICE, method="book_room")
    assert timed - timed_before == 4


def test_a_service_shows_its_methods_at_zero_before_any_call(probe):
    assert (
        REGISTRY.get_sample_value(
            "crm_rpc_requests_total", {"service": SERVICE, "method": "ask_nobody", "outcome": "failure"}
        )
        is not None
    )


def call_outcomes() -> dict[str, float]:
    labels = {"service": SERVICE, "target": SERVICE, "method": "book_room"}
    return {
        outcome: value("crm_rpc_calls_total", **labels, outcome=outcome)
        for outcome in ("ok", "expected_error", "failure")
    }


def test_rpc_calls_are_counted_by_target_and_outcome_on_the_callers_side(probe, probe_config):
    before = call_outcomes()
    timeouts = value(
        "crm_rpc_calls_total", service=SERVICE, target="nobody_home", method="anything", outcome="timeout"
    )

    with ClusterRpcProxy(probe_config, timeout=10) as cluster:
        cluster.metrics_probe.book_through_rpc("Salle Pomme")
        with pytest.raises(InvalidInput):
            cluster.metrics_probe.book_through_rpc("Chambre 404")
        with pytest.raises(Exception, match="boiler room"):
            cluster.metrics_probe.book_through_rpc("Salle des machines")
        with pytest.raises(Exception, match="nobody_home service did not answer within 1 s"):
            cluster.metrics_probe.ask_nobody()

    after = call_outcomes()
    assert {key: after[key] - before[key] for key in after} == {"ok": 1, "expected_error": 1, "failure": 1}
    assert (
        value(
            "crm_rpc_calls_total", service=SERVICE, target="nobody_home", method="anything", outcome="timeout"
        )
        - timeouts
        == 1
    )
    assert value("crm_rpc_call_duration_seconds_sum", service=SERVICE, target="nobody_home") >= 1.0


def publish_note_added(amqp_uri: str, body: str, occurred_at: str) -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "note_added",
        "org_id": "org-pomme",
        "occurred_at": occurred_at,
        "actor_id": None,
        "record": {"body": body},
    }
    publish_event(amqp_uri, "outbox_probe", event)


def test_an_event_handled_shows_its_count_outcome_and_lag_from_occurred_at(probe, probe_config):
    labels = {"service": SERVICE, "event": "outbox_probe.note_added"}

    def handled(outcome: str) -> float:
        return value("crm_events_handled_total", **labels, outcome=outcome)

    ok, failed = handled("ok"), handled("failure")
    lag_count = value("crm_event_lag_seconds_count", **labels)
    lag_sum = value("crm_event_lag_seconds_sum", **labels)
    within_ten_seconds = value("crm_event_lag_seconds_bucket", **labels, le="10.0")

    amqp_uri = probe_config["AMQP_URI"]
    publish_note_added(amqp_uri, "Livraison Pomme", (utcnow() - timedelta(seconds=20)).isoformat())
    publish_note_added(amqp_uri, "illisible", utcnow().isoformat())

    wait_for(lambda: handled("ok") > ok and handled("failure") > failed)
    assert (handled("ok") - ok, handled("failure") - failed) == (1, 1)
    assert value("crm_event_lag_seconds_count", **labels) - lag_count == 2
    # One event waited 20 s, the other hardly at all.
    assert 20 <= value("crm_event_lag_seconds_sum", **labels) - lag_sum < 25
    assert value("crm_event_lag_seconds_bucket", **labels, le="10.0") - within_ten_seconds == 1
    assert value("crm_event_handling_duration_seconds_count", **labels) > 0


def test_the_outbox_backlog_shows_while_the_relay_is_held_and_empties_once_it_publishes(probe, probe_config):
    relay = next(d for d in probe.dependencies if isinstance(d, Database)).relay
    published = value("crm_outbox_published_total", service=SERVICE)
    wait_for(lambda: value("crm_outbox_pending", service=SERVICE) == 0)
    relay.stop()  # as while the broker is away
    with ClusterRpcProxy(probe_config, timeout=10) as cluster:
        cluster.metrics_probe.add_note("Rappeler Pomme Siège Central")
        cluster.metrics_probe.add_note("Devis Chambre 404")
    time.sleep(0.05)

    assert value("crm_outbox_pending", service=SERVICE) == 2
    assert 0 < value("crm_outbox_oldest_age_seconds", service=SERVICE) < 5

    relay.start()
    relay.wake()
    wait_for(lambda: value("crm_outbox_pending", service=SERVICE) == 0)
    assert value("crm_outbox_pending", service=SERVICE) == 0
    assert value("crm_outbox_oldest_age_seconds", service=SERVICE) == 0
    assert value("crm_outbox_published_total", service=SERVICE) - published == 2


def test_the_relay_counts_what_it_published(settings):
    create_probe_schema(settings, SERVICE)
    engine = create_service_engine(settings, SERVICE)
    try:
        with Session(engine) as session:
            for body in ("premier", "deuxième", "troisième"):
                record_event(session, "note_added", org_id="org-pomme", actor_id=None, record={"body": body})
            session.commit()
        count, oldest = read_outbox_backlog(engine)
        assert count == 3 and oldest <= utcnow()
        published = value("crm_outbox_published_total", service=SERVICE)

        relay = OutboxRelay(
            engine=engine, service_name=SERVICE, amqp_uri=settings.amqp_uri, settings=settings.outbox
        )
        assert relay.publish_pending() == 3
        relay.stop()
    finally:
        engine.dispose()
    assert value("crm_outbox_published_total", service=SERVICE) - published == 3
    assert read_outbox_backlog(engine) == (0, None)


def test_a_database_that_does_not_answer_leaves_the_backlog_out_and_the_scrape_whole(settings):
    from crm.metrics import database as metrics_database

    down = create_service_engine(
        settings.model_copy(
            update={
                "database": settings.database.model_copy(update={"url": "postgresql://crm@127.0.0.1:1/crm"})
            }
        ),
        "nowhere",
    )
    assert read_outbox_backlog(down) is None
    metrics_database._outbox_engines["nowhere"] = down
    try:
        families = list(OutboxBacklog().collect())
    finally:
        del metrics_database._outbox_engines["nowhere"]
    assert [family.name for family in families] == ["crm_outbox_pending", "crm_outbox_oldest_age_seconds"]
    assert all(sample.labels["service"] != "nowhere" for family in families for sample in family.samples)


def test_the_pool_and_statement_times_of_the_database_are_shown(probe, probe_config):
    statements = value("crm_db_statement_duration_seconds_count", service=SERVICE)
    with ClusterRpcProxy(probe_config, timeout=10) as cluster:
        cluster.metrics_probe.add_note("Facture Pomme")

    assert value("crm_db_statement_duration_seconds_count", service=SERVICE) - statements >= 2
    settings = probe_config["CRM"]
    expected_size = 1 if settings.database.url.startswith("sqlite") else settings.database.pool_size
    assert value("crm_db_pool_size", service=SERVICE) == expected_size
    assert REGISTRY.get_sample_value("crm_db_pool_checked_out", {"service": SERVICE}) is not None


class RoomsProbe(MetricsProbe):
    name = "metrics_rooms"


class NotesWritten:
    """A collector of the kind services/<name>/metrics.py returns: a figure read at scrape time."""

    def __init__(self, engine):
        self.engine = engine

    def describe(self):
        yield GaugeMetricFamily("crm_probe_notes_written", "Notes in the probe's database")

    def collect(self):
        with self.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(notes)).scalar_one()
        yield GaugeMetricFamily("crm_probe_notes_written", "Notes in the probe's database", value=count)


def test_a_services_own_collectors_are_registered_once_however_many_containers_start(
    container_factory, probe_config, settings, monkeypatch
):
    create_probe_schema(settings, "metrics_rooms")
    with Connection(settings.amqp_uri) as connection:  # its event queue: not this test's business
        connection.default_channel.queue_delete("evt-outbox_probe-note_added--metrics_rooms.on_note_added")
    made: list[object] = []

    def collectors(engine):
        made.append(engine)
        return [NotesWritten(engine)]

    module = types.ModuleType("services.metrics_rooms.metrics")
    module.collectors = collectors
    monkeypatch.setitem(sys.modules, "services.metrics_rooms.metrics", module)
    try:
        for _ in range(2):
            container = container_factory(RoomsProbe, probe_config)
            container.start()
            with ClusterRpcProxy(probe_config, timeout=10) as cluster:
                cluster.metrics_rooms.add_note("Réunion Pomme")
            container.stop()

        assert len(made) == 1
        assert value("crm_probe_notes_written") == 2
    finally:
        for collector in list(REGISTRY._collector_to_names):
            if isinstance(collector, NotesWritten):
                REGISTRY.unregister(collector)
