"""Event handlers never lose an event: a failure puts it back after a pause, one that fails
again and again is parked whole in the service's database, and `crm admin replay-events` puts
it back on its queue, applied once (real broker and database)."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner
from kombu import Connection, Producer
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from cli.main import main
from crm import events
from crm.database import Database, create_service_engine
from crm.events import durable_event_handler, parked_events, replay_parked
from crm.inbox import first_delivery
from crm.outbox import event_exchange
from tests.service.conftest import create_probe_schema, notes, probe_metadata

QUEUE = "evt-ledger-entry_made--durable_probe.on_entry_made"
failures_left: dict[str, int] = {}  # body -> how many more times its handling fails


class DurableProbe:
    name = "durable_probe"
    db = Database(probe_metadata)

    @durable_event_handler("ledger", "entry_made")
    def on_entry_made(self, payload: dict) -> None:
        body = payload["record"]["body"]
        if failures_left.get(body, 0) > 0:
            failures_left[body] -= 1
            raise RuntimeError(f"cannot file {body} yet")
        with self.db.transaction() as uow:
            if first_delivery(uow.session, payload["event_id"], "durable_probe.on_entry_made"):
                uow.session.execute(notes.insert().values(body=body))


@pytest.fixture
def durable(settings, container_factory, monkeypatch):
    monkeypatch.setattr(events, "FIRST_PAUSE_SECONDS", 0.01)
    monkeypatch.setattr(events, "MAX_ATTEMPTS", 3)
    failures_left.clear()
    create_probe_schema(settings, "durable_probe")
    with Connection(settings.amqp_uri) as connection:  # leftovers of earlier runs
        connection.default_channel.queue_delete(QUEUE)
    container = container_factory(DurableProbe, settings.nameko_config())
    container.start()
    engine = create_service_engine(settings, "durable_probe")
    yield SimpleNamespace(settings=settings, engine=engine, container=container)
    engine.dispose()


def _publish(settings, body: str) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "entry_made",
        "org_id": "org-pomme",
        "occurred_at": "2026-12-06T09:00:00+00:00",
        "actor_id": None,
        "record": {"body": body},
    }
    with Connection(settings.amqp_uri) as connection:
        Producer(connection.channel()).publish(
            event,
            exchange=event_exchange("ledger"),
            routing_key="entry_made",
            serializer="json",
            declare=[event_exchange("ledger")],
        )
    return event


def _bodies(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(notes.c.body)))


def _wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_event_whose_handling_fails_twice_is_applied_once_it_succeeds(durable):
    failures_left["Facture Pomme"] = 2
    _publish(durable.settings, "Facture Pomme")
    _wait_for(lambda: _bodies(durable.engine) == ["Facture Pomme"])
    assert failures_left["Facture Pomme"] == 0
    assert parked_events(durable.engine) == []


def test_an_event_that_always_fails_is_parked_whole_the_others_flow_and_a_replay_applies_it_once(
    durable, caplog
):
    failures_left["Devis Siège"] = 10**6
    parked = _publish(durable.settings, "Devis Siège")
    _publish(durable.settings, "Livraison Pomme")
    _wait_for(lambda: len(parked_events(durable.engine)) == 1)
    [row] = parked_events(durable.engine)
    assert row["event_id"] == parked["event_id"]
    assert row["queue"] == QUEUE
    assert row["attempts"] == 3
    assert row["error"] == "RuntimeError: cannot file Devis Siège yet"
    _wait_for(lambda: _bodies(durable.engine) == ["Livraison Pomme"])
    assert [r.getMessage() for r in caplog.records if "parked after" in r.getMessage()] == [
        f"event {parked['event_id']} of {QUEUE} parked after 3 failed attempts "
        "(RuntimeError: cannot file Devis Siège yet); "
        "`crm admin replay-events` puts it back once the cause is mended"
    ]
    with Connection(durable.settings.amqp_uri) as connection:  # acknowledged: not going round
        assert connection.default_channel.queue_declare(QUEUE, passive=True).message_count == 0

    failures_left["Devis Siège"] = 0  # the cause is mended
    assert replay_parked(durable.engine, durable.settings.amqp_uri) == (1, set())
    _wait_for(lambda: _bodies(durable.engine) == ["Devis Siège", "Livraison Pomme"])
    assert parked_events(durable.engine) == []
    assert replay_parked(durable.engine, durable.settings.amqp_uri) == (0, set())


def test_an_event_that_cannot_be_parked_is_put_back_not_dropped(tmp_path):
    away = Database(probe_metadata)
    away.engine = create_engine(f"sqlite:///{tmp_path}/no-such-folder/probe.db")
    handler = events.DurableEventHandler("ledger", "entry_made")
    handler.container = SimpleNamespace(dependencies=[away])
    handler.queue = SimpleNamespace(name=QUEUE)
    assert handler._park("event-1", {"event_id": "event-1"}, 8, RuntimeError("boom")) is False


def test_the_replay_command_lists_what_a_service_parked_and_keeps_what_has_no_queue(migrated, tmp_path):
    engine = create_service_engine(migrated, "notifier")
    queue = "evt-interactions-participant_invited--notifier.on_participant_invited"
    with Connection(migrated.amqp_uri) as connection:  # notifier is not running here
        connection.default_channel.queue_delete(queue)
    try:
        with Session(engine) as session, session.begin():
            session.execute(events._parked.delete())
            session.execute(
                events._parked.insert().values(
                    event_id="evt-77",
                    queue=queue,
                    body='{"event_id": "evt-77"}',
                    error="KeyError: 'record'",
                    attempts=8,
                    parked_at=events.utcnow(),
                )
            )
        config = tmp_path / "operator.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(tmp_path),
                    "database": {"url": migrated.database.url},
                    "amqp_uri": migrated.amqp_uri,
                }
            )
        )
        command = ["--config", str(config), "admin", "replay-events", "--service", "notifier"]
        listed = CliRunner().invoke(main, [*command, "--list"])
        assert listed.exit_code == 0, listed.output
        assert f"{queue}  event evt-77  after 8 attempts: KeyError: 'record'" in listed.output
        replayed = CliRunner().invoke(main, command)
        assert replayed.exit_code == 0, replayed.output
        assert replayed.output.splitlines() == [
            "notifier: 0 parked events put back",
            f"notifier: queue {queue} does not exist (start notifier first); its events stay parked",
        ]
        assert [row["event_id"] for row in parked_events(engine)] == ["evt-77"]
    finally:
        with Session(engine) as session, session.begin():
            session.execute(events._parked.delete())
        engine.dispose()
