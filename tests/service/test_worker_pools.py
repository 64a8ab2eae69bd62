"""A backlog of events never holds back the calls people wait on: event handlers take their
workers from a pool of their own (crm.logs.WorkerPools; real broker)."""

from __future__ import annotations

import uuid

import eventlet
import pytest
from eventlet.event import Event
from kombu import Connection, Producer
from nameko.standalone.rpc import ClusterRpcProxy

from crm.events import durable_event_handler
from crm.outbox import event_exchange
from crm.rpc import rpc

QUEUE = "evt-agenda-meeting_booked--pool_probe.on_meeting_booked"
released = Event()
started: list[str] = []


class PoolProbe:
    name = "pool_probe"

    @durable_event_handler("agenda", "meeting_booked")
    def on_meeting_booked(self, payload: dict) -> None:
        started.append(payload["record"]["room"])
        released.wait()

    @rpc
    def ping(self) -> str:
        return "pong"


@pytest.fixture
def one_worker_each(settings, container_factory):
    global released
    released = Event()
    started.clear()
    with Connection(settings.amqp_uri) as connection:  # leftovers of earlier runs
        connection.default_channel.queue_delete(QUEUE)
    single = settings.model_copy(update={"bus": settings.bus.model_copy(update={"max_workers": 1})})
    container = container_factory(PoolProbe, single.nameko_config())
    container.start()
    yield single
    if not released.ready():
        released.send(True)


def _book(settings, room: str) -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "meeting_booked",
        "org_id": "org-pomme",
        "occurred_at": "2026-12-07T09:00:00+00:00",
        "actor_id": None,
        "record": {"room": room},
    }
    with Connection(settings.amqp_uri) as connection:
        Producer(connection.channel()).publish(
            event,
            exchange=event_exchange("agenda"),
            routing_key="meeting_booked",
            serializer="json",
            declare=[event_exchange("agenda")],
        )


def test_a_call_is_answered_while_event_handlers_hold_every_event_worker(one_worker_each):
    _book(one_worker_each, "Chambre 404")
    _book(one_worker_each, "Salle Reinette")
    with ClusterRpcProxy(one_worker_each.nameko_config(), timeout=10) as cluster:
        for _ in range(200):  # answered all the same, while the handler starts
            if started:
                break
            cluster.pool_probe.ping()
            eventlet.sleep(0.05)
        # The one event worker is held, the second event waits for it; a call does not.
        assert cluster.pool_probe.ping() == "pong"
        assert started == ["Chambre 404"]
        released.send(True)
