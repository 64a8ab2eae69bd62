"""Event handlers that never lose their event.

nameko's ``event_handler`` acknowledges an event whose handler failed, unless told to put it
back; put back, a handler that always fails (a bug meeting one event) turns the event round
the queue forever. ``durable_event_handler`` does neither: a failed event goes back to its
queue after a pause that grows with each failure (the database restarting, a peer service
away), and after ``MAX_ATTEMPTS`` failures in a row in this process it is *parked*: written
whole, with its queue and its last error, to the consuming service's ``parked_events`` table,
then acknowledged, with one log line. ``crm admin replay-events`` puts parked events back on
their queues once the cause is mended; the inbox (``crm.inbox``) keeps a replay from being
applied twice. When the parking itself fails (the database is the cause), the event goes back
to its queue: it is never dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import eventlet
from amqp.exceptions import ChannelError
from kombu import Connection, Exchange, Producer
from nameko.events import EventHandler
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, Text, delete, select
from sqlalchemy.orm import Session

from crm.database import Database, insert_ignoring_duplicates
from crm.times import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 10.0


def define_parked_table(metadata: MetaData) -> Table:
    """Add the ``parked_events`` table to a service's metadata."""
    return Table(
        "parked_events",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("queue", String(255), primary_key=True),
        Column("body", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
    )


def pause_after(attempts: int) -> float:
    """Seconds to wait before an event that failed ``attempts`` times goes back to its queue."""
    return min(FIRST_PAUSE_SECONDS * 2 ** (attempts - 1), LONGEST_PAUSE_SECONDS)


def event_key(body: Any) -> str:
    """The event's id, or (a malformed event has none) a digest of what it holds."""
    if isinstance(body, dict) and isinstance(body.get("event_id"), str) and body["event_id"]:
        return body["event_id"][:64]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:64]


class DurableEventHandler(EventHandler):
    """An ``event_handler`` that puts a failed event back after a pause and parks it after
    ``MAX_ATTEMPTS`` failures (see the module's text)."""

    def __init__(self, source_service: str, event_type: str, **kwargs: Any):
        super().__init__(source_service, event_type, requeue_on_error=True, **kwargs)
        self._failures: dict[str, int] = {}

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        key = event_key(message.payload)
        if exc_info is None:
            self._failures.pop(key, None)
            self.queue_consumer.ack_message(message)
            return
        attempts = self._failures.get(key, 0) + 1
        self._failures[key] = attempts
        if attempts >= MAX_ATTEMPTS and self._park(key, message.payload, attempts, exc_info[1]):
            self._failures.pop(key, None)
            self.queue_consumer.ack_message(message)
            return
        eventlet.sleep(pause_after(attempts))
        self.queue_consumer.requeue_message(message)

    def _park(self, key: str, body: Any, attempts: int, error: BaseException) -> bool:
        queue = self.queue.name
        engine = _engine_of(self.container)
        if engine is None:
            return False
        row = {
            "event_id": key,
            "queue": queue,
            "body": json.dumps(body, default=str),
            "error": f"{type(error).__name__}: {error}"[:2000],
            "attempts": attempts,
            "parked_at": utcnow(),
        }
        try:
            with Session(engine) as session, session.begin():
                session.execute(insert_ignoring_duplicates(session, _parked).values(**row))
        except Exception as exc:
            log.warning("event %s of %s could not be parked, put back instead: %s", key, queue, exc)
            return False
        log.error(
            "event %s of %s parked after %d failed attempts (%s); "
            "`crm admin replay-events` puts it back once the cause is mended",
            key,
            queue,
            attempts,
            row["error"],
        )
        return True


durable_event_handler = DurableEventHandler.decorator

_parked = define_parked_table(MetaData())


def _engine_of(container: Any) -> Engine | None:
    for dependency in container.dependencies:
        if isinstance(dependency, Database) and "parked_events" in dependency.metadata.tables:
            return dependency.engine
    return None


def parked_events(engine: Engine) -> list[dict[str, Any]]:
    """Every parked event of a service's database, oldest first."""
    with Session(engine) as session:
        rows = session.execute(select(_parked).order_by(_parked.c.parked_at, _parked.c.event_id))
        return [dict(row._mapping) for row in rows]


def replay_parked(engine: Engine, amqp_uri: str) -> tuple[int, set[str]]:
    """Put every parked event of a service's database back on its queue (confirmed by the
    broker before its row is deleted): how many, and the queues that no longer exist (their
    events stay parked: published there, they would be dropped)."""
    replayed, missing = 0, set()
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.default_channel
        producer = Producer(channel, exchange=Exchange(""))
        for parked in parked_events(engine):
            queue = parked["queue"]
            if queue in missing or not _queue_exists(connection, queue):
                missing.add(queue)
                continue
            producer.publish(
                parked["body"],
                routing_key=queue,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                retry=True,
            )
            with Session(engine) as session, session.begin():
                session.execute(
                    delete(_parked).where(_parked.c.event_id == parked["event_id"], _parked.c.queue == queue)
                )
            replayed += 1
    return replayed, missing


def _queue_exists(connection: Connection, queue: str) -> bool:
    # A passive declare that fails closes its channel: asked on a channel of its own.
    channel = connection.channel()
    try:
        channel.queue_declare(queue, passive=True)
        return True
    except ChannelError:
        return False
    finally:
        try:
            channel.close()
        except Exception:  # already closed by the broker's refusal
            pass
