"""Idempotent event consumption and RPC deadlines, on the real broker."""

from __future__ import annotations

import time
import uuid

import pytest
from kombu import Connection, Producer
from nameko.events import event_handler
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import Database, create_service_engine
from crm.errors import ServiceUnavailable
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
