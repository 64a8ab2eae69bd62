"""A queue of the tests' own bound to a service's events exchange: counts every delivery of each
event, duplicates included."""

from __future__ import annotations

import uuid
from collections import Counter

import eventlet
from kombu import Connection, Consumer, Producer, Queue

from crm.outbox import event_exchange

SENTINEL = "sentinel"


class CountingTap:
    def __init__(self, amqp_uri: str, service: str, event_type: str):
        self.connection = Connection(amqp_uri)
        self.exchange = event_exchange(service)
        self.routing_key = event_type
        self.queue = Queue(f"tap-{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
        channel = self.connection.default_channel
        # The exchange exists once a relay of the service has published: declare it (as the relay
        # does), or a tap made before that binds to nothing and fails.
        self.exchange(channel).declare()
        self.queue(channel).declare()
        for key in (event_type, SENTINEL):
            self.queue(channel).bind_to(self.exchange, routing_key=key)
        self.deliveries: Counter[str] = Counter()
        self.consumer = Consumer(channel, [self.queue], callbacks=[self._on_message], accept=["json"])
        self.consumer.consume()

    def _on_message(self, body: dict, message) -> None:
        self.deliveries[body["event_id"]] += 1
        message.ack()

    def everything_so_far(self, timeout: float = 20) -> Counter[str]:
        """Every delivery of every event the broker confirmed before this call.

        A sentinel (under a routing key no service listens to) is published with a confirm and
        read back: the queue is FIFO, so whatever was routed to it before, duplicates included,
        has been counted once the sentinel comes."""
        sentinel = f"{SENTINEL}-{uuid.uuid4().hex}"
        uri = self.connection.as_uri(include_password=True)
        with Connection(uri, transport_options={"confirm_publish": True}) as publishing:
            producer = Producer(publishing.default_channel, exchange=self.exchange)
            producer.publish({"event_id": sentinel}, routing_key=SENTINEL, serializer="json")
        with eventlet.Timeout(timeout):
            while sentinel not in self.deliveries:
                try:
                    self.connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
        return Counter({key: n for key, n in self.deliveries.items() if not key.startswith(SENTINEL)})

    def close(self) -> None:
        self.connection.release()
