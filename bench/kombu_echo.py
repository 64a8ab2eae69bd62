"""The ceiling: a plain kombu request/reply echo on the same broker.

``serve`` runs the echo server (one process, like one service); ``caller``
makes a client that publishes a request and waits for the reply by
correlation id, through one shared reply queue.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable

import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from kombu import Connection, Consumer, Exchange, Producer, Queue

ECHO_QUEUE = "bench.echo"


def serve(amqp_uri: str) -> None:
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 64, False)
        producer = Producer(connection.channel())
        queue = Queue(ECHO_QUEUE, Exchange(""), routing_key=ECHO_QUEUE, auto_delete=True)

        def on_request(body: object, message: object) -> None:
            producer.publish(
                body,
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties["correlation_id"],
                serializer="json",
            )
            message.ack()

        with Consumer(channel, queues=[queue], callbacks=[on_request]):
            print("ready", flush=True)
            while True:
                connection.drain_events()


class EchoClient:
    def __init__(self, amqp_uri: str):
        self.publish_connection = Connection(amqp_uri)
        self.reply_connection = Connection(amqp_uri)
        self.producer = Producer(self.publish_connection.channel())
        self.reply_queue = Queue(f"bench.reply.{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
        self.pending: dict[str, Event] = {}
        self.lock = Semaphore()
        self.consumer = Consumer(
            self.reply_connection.channel(),
            queues=[self.reply_queue],
            callbacks=[self._on_reply],
            no_ack=True,
        )
        self.consumer.consume()
        eventlet.spawn_n(self._drain)

    def _drain(self) -> None:
        while True:
            self.reply_connection.drain_events()

    def _on_reply(self, body: object, message: object) -> None:
        event = self.pending.pop(message.properties["correlation_id"], None)
        if event is not None:
            event.send(body)

    def caller(self) -> Callable[[], bool]:
        def call() -> bool:
            correlation_id = uuid.uuid4().hex
            event = Event()
            self.pending[correlation_id] = event
            with self.lock:
                self.producer.publish(
                    {"user": "me"},
                    routing_key=ECHO_QUEUE,
                    reply_to=self.reply_queue.name,
                    correlation_id=correlation_id,
                    serializer="json",
                )
            return event.wait() == {"user": "me"}

        return call


if __name__ == "__main__":
    serve(sys.argv[1])
