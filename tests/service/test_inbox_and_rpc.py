"""Idempotent event consumption and RPC deadlines, on the real broker."""

from __future__ import annotations

import time
import uuid

import eventlet
import pytest
from kombu import Connection, Producer
from nameko.events import event_handler
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import Database, DatabaseAccess, create_service_engine, is_postgresql
from crm.errors import ServiceUnavailable
from crm.ids import new_id
from crm.inbox import first_delivery
from crm.outbox import event_exchange
from crm.rpc import RpcClient, rpc
from tests.service.conftest import notes, probe_metadata


class InboxProbe:
    name = "inbox_probe"
    db = Database(probe_metadata)

    @event_handler("outbox_probe", "note_added")
    def on_note_added(self, payload: dict) -> None:
        with self.db.transaction() as uow:
            if first_delivery(uow.session, payload["event_id"], "inbox_probe.on_note_added"):
                uow.session.execute(notes.insert().values(body=payload["record"]["body"]))


def _bodies(settings) -> list[str]:
    engine = create_service_engine(settings, "inbox_probe")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(notes.c.body).order_by(notes.c.id)))
    finally:
        engine.dispose()


def test_a_redelivered_event_is_applied_once(container_factory, probe_settings):
    with Connection(probe_settings.amqp_uri) as connection:  # leftovers of earlier runs
        connection.default_channel.queue_delete("evt-outbox_probe-note_added--inbox_probe.on_note_added")
    container = container_factory(InboxProbe, probe_settings.nameko_config())
    container.start()
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "note_added",
        "org_id": "org-pomme",
        "occurred_at": "2026-11-22T09:00:00+00:00",
        "actor_id": None,
        "record": {"body": "Livraison Pomme"},
    }
    other = {**event, "event_id": str(uuid.uuid4()), "record": {"body": "Facture Pomme"}}
    with Connection(probe_settings.amqp_uri) as connection:
        producer = Producer(connection.channel())
        for payload in (event, event, other, event):
            producer.publish(
                payload,
                exchange=event_exchange("outbox_probe"),
                routing_key="note_added",
                serializer="json",
                declare=[event_exchange("outbox_probe")],
            )
    deadline = time.time() + 10
    while time.time() < deadline and len(_bodies(probe_settings)) < 2:
        time.sleep(0.1)
    time.sleep(0.5)  # let the duplicates arrive too
    # Workers run concurrently, so order is not promised; each event lands once.
    assert sorted(_bodies(probe_settings)) == ["Facture Pomme", "Livraison Pomme"]


class Caller:
    name = "impatient_caller"
    nobody = RpcClient("nobody_home")

    @rpc
    def ask(self) -> str:
        return self.nobody.anything()


def test_rpc_to_a_missing_service_fails_within_the_deadline(container_factory, settings):
    impatient = settings.model_copy(
        update={"gateway": settings.gateway.model_copy(update={"rpc_timeout_seconds": 0.5})}
    )
    container = container_factory(Caller, impatient.nameko_config())
    container.start()
    from nameko.standalone.rpc import ClusterRpcProxy

    started = time.monotonic()
    with ClusterRpcProxy(impatient.nameko_config(), timeout=10) as cluster:
        with pytest.raises(ServiceUnavailable, match="nobody_home service did not answer within 0.5 s"):
            cluster.impatient_caller.ask()
    assert time.monotonic() - started < 5


def test_a_redelivery_racing_the_first_waits_for_it_and_is_told_it_was_applied(probe_settings):
    """Two processes handle the same event at once: the second's insert waits for the first's
    transaction, then learns the event was applied (or takes it, had the first rolled back)."""
    if not is_postgresql(probe_settings.database_url("inbox_probe")):
        pytest.skip("the race needs PostgreSQL's row locks (TEST_DATABASE_URL)")
    engines = [create_service_engine(probe_settings, "inbox_probe") for _ in range(2)]
    first, second = (DatabaseAccess(engine, relay=None) for engine in engines)
    event_id, answers = new_id(), []

    def redelivered(db: DatabaseAccess) -> None:
        with db.transaction() as uow:
            answers.append(first_delivery(uow.session, event_id, "inbox_probe.on_note_added"))

    try:
        with first.transaction() as uow:
            assert first_delivery(uow.session, event_id, "inbox_probe.on_note_added") is True
            racer = eventlet.spawn(redelivered, second)
            eventlet.sleep(0.3)
            assert answers == []  # waiting on the first transaction's row
        racer.wait()
        assert answers == [False]

        rolled_back = new_id()
        with pytest.raises(RuntimeError), first.transaction() as uow:
            first_delivery(uow.session, rolled_back, "inbox_probe.on_note_added")
            raise RuntimeError("the handler failed")
        with second.transaction() as uow:
            assert first_delivery(uow.session, rolled_back, "inbox_probe.on_note_added") is True
    finally:
        for engine in engines:
            engine.dispose()
