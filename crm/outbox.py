"""The transactional outbox: events are rows written with the change they announce.

``record_event`` writes the row in the caller's transaction. ``OutboxRelay``
publishes committed rows to the service's nameko events exchange with publisher
confirms, then marks them published. A row is only marked after the broker
confirmed it, so a broker outage delays events but never drops one; a crash
between confirm and mark publishes the row again, which idempotent consumers
(``crm.inbox``) absorb.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import amqp
import eventlet
from eventlet.event import Event
from kombu import Connection, Exchange, Producer
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    select,
    text,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.orm import Session

from crm.ids import new_id
from crm.logs import current_request_id
from crm.metrics import outbox_published
from crm.times import utcnow

log = logging.getLogger(__name__)

_outbox = sql_table(
    "outbox",
    sql_column("id", String),
    sql_column("event_type", String),
    sql_column("payload", JSON),
    sql_column("created_at", DateTime(timezone=True)),
    sql_column("published_at", DateTime(timezone=True)),
)


UNPUBLISHED_INDEX = "ix_outbox_unpublished"


def define_outbox_table(metadata: MetaData) -> Table:
    """Add the ``outbox`` table to a service's metadata (for its migrations)."""
    table = Table(
        "outbox",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
    )
    # The rows waiting, in the relay's order; published rows leave it. An index of every row
    # by published_at kept each published row's old version (published_at NULL) until a vacuum:
    # the relay's claim read them all, 1.6 ms for 6,000 events published since (bench/README.md).
    Index(
        UNPUBLISHED_INDEX,
        table.c.created_at,
        table.c.id,
        postgresql_where=table.c.published_at.is_(None),
        sqlite_where=table.c.published_at.is_(None),
    )
    return table


def index_unpublished_rows(op: Any) -> None:
    """The migration step of every service with an outbox: the unpublished rows' partial index
    in place of the index of every row by ``published_at`` (``op``: alembic's)."""
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    unpublished = text("published_at IS NULL")
    op.create_index(
        UNPUBLISHED_INDEX,
        "outbox",
        ["created_at", "id"],
        postgresql_where=unpublished,
        sqlite_where=unpublished,
    )


def index_every_row(op: Any) -> None:
    """``index_unpublished_rows`` undone."""
    op.drop_index(UNPUBLISHED_INDEX, table_name="outbox")
    op.create_index("ix_outbox_published_at", "outbox", ["published_at", "id"])


def backlog_query() -> Select:
    """How many rows wait to be published, and when the oldest of them was written."""
    return select(func.count(), func.min(_outbox.c.created_at)).where(_outbox.c.published_at.is_(None))


# The relay's batch: the oldest unpublished rows, marked published and returned with their
# payloads as the JSON text stored (published as it is, not decoded and encoded again). On
# PostgreSQL the rows are locked, and rows another relay holds are skipped (several processes
# of one service share the outbox); SQLite has one writer and no row locks.
_CLAIM = (
    update(_outbox)
    .where(
        _outbox.c.id.in_(
            select(_outbox.c.id)
            .where(_outbox.c.published_at.is_(None))
            .order_by(_outbox.c.created_at, _outbox.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(published_at=bindparam("now"))
    .returning(
        _outbox.c.id, _outbox.c.event_type, _outbox.c.created_at, cast(_outbox.c.payload, Text).label("body")
    )
)


def event_exchange(service_name: str) -> Exchange:
    """The exchange nameko's ``@event_handler(service_name, ...)`` binds to."""
    return Exchange(f"{service_name}.events", type="topic", durable=True, delivery_mode=2)


def record_event(
    session: Session,
    event_type: str,
    *,
    org_id: str,
    actor_id: str | None,
    record: dict[str, Any],
) -> dict[str, Any]:
    """Queue ``event_type`` for publication once ``session`` commits."""
    payload = new_event(event_type, org_id=org_id, actor_id=actor_id, record=record)
    record_events(session, [payload])
    return payload


def new_event(
    event_type: str, *, org_id: str, actor_id: str | None, record: dict[str, Any]
) -> dict[str, Any]:
    """The payload consumers receive for ``event_type``, stamped now and with the request id
    of the worker that made it (none for work no request started)."""
    return {
        "event_id": new_id(),
        "event_type": event_type,
        "org_id": org_id,
        "occurred_at": utcnow().isoformat(),
        "actor_id": actor_id,
        "request_id": current_request_id(),
        "record": record,
    }


def record_events(session: Session, payloads: list[dict[str, Any]]) -> None:
    """Queue events made by ``new_event`` with one statement: bulk writers emit many at once."""
    rows = [_outbox_row(payload) for payload in payloads]
    if rows:
        session.execute(_outbox.insert(), rows if len(rows) > 1 else rows[0])


def _outbox_row(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": payload["event_id"],
        "event_type": payload["event_type"],
        "payload": payload,
        "created_at": datetime.fromisoformat(payload["occurred_at"]),
    }


def insert_with_events(
    session: Session | SqlConnection,
    rows: list[tuple[Table, list[dict[str, Any]]]],
    payloads: list[dict[str, Any]],
) -> None:
    """Insert ``rows`` (each table's, parents first, every row of a table with the same keys) and
    the outbox rows of ``payloads`` in the session's (or connection's) transaction.

    On PostgreSQL with one statement: the tables' INSERTs in its WITH clause, the outbox's as
    its body (foreign keys are checked at the statement's end), so a create and its event are
    one round trip. Elsewhere one statement per table (``is_one_statement`` says which).
    """
    parts = _parts(rows, payloads)
    if not parts:
        return
    connection = session.connection() if isinstance(session, Session) else session
    if not is_one_statement(connection, rows, payloads):
        # Many rows (an import's batch) go faster as one multi-row INSERT per table.
        for table, table_rows in parts:
            connection.execute(table.insert(), table_rows if len(table_rows) > 1 else table_rows[0])
        return
    shape = tuple((table, tuple(table_rows[0]), len(table_rows)) for table, table_rows in parts)
    statement = _COMBINED_INSERTS.get(shape)
    if statement is None:
        if len(_COMBINED_INSERTS) >= COMBINED_SHAPES_KEPT:
            _COMBINED_INSERTS.clear()
        statement = PrecompiledStatement(_combined_insert(shape), connection.dialect)
        _COMBINED_INSERTS[shape] = statement
    parameters = {
        f"p{part}_{index}_{key}": value
        for part, (_, table_rows) in enumerate(parts)
        for index, row in enumerate(table_rows)
        for key, value in row.items()
    }
    statement.execute(connection, parameters)


def change_with_events(session: Session, change: Any, payloads: list[dict[str, Any]]) -> None:
    """Run ``change`` (an UPDATE or a DELETE) and insert the outbox rows of ``payloads``, in the
    session's transaction: on PostgreSQL with one statement (the change in its WITH clause, run
    whether or not the INSERT reads it), so an update and its event are one round trip."""
    connection = session.connection()
    rows = [_outbox_row(payload) for payload in payloads]
    if rows and connection.dialect.name == "postgresql" and len(rows) <= COMBINED_ROWS:
        connection.execute(_outbox.insert().values(rows if len(rows) > 1 else rows[0]).add_cte(change.cte()))
        return
    connection.execute(change)
    if rows:
        connection.execute(_outbox.insert(), rows if len(rows) > 1 else rows[0])


def is_one_statement(
    bind: SqlConnection | Engine,
    rows: list[tuple[Table, list[dict[str, Any]]]],
    payloads: list[dict[str, Any]],
) -> bool:
    """Whether ``insert_with_events`` writes these in one statement (atomic without a transaction
    around it: a caller in autocommit saves the BEGIN and COMMIT round trips)."""
    count = sum(len(table_rows) for _, table_rows in rows) + len(payloads)
    return bind.dialect.name == "postgresql" and count <= COMBINED_ROWS


def _parts(
    rows: list[tuple[Table, list[dict[str, Any]]]], payloads: list[dict[str, Any]]
) -> list[tuple[Table, list[dict[str, Any]]]]:
    parts = [*rows, (_outbox, [_outbox_row(payload) for payload in payloads])]
    return [(table, table_rows) for table, table_rows in parts if table_rows]


class PrecompiledStatement:
    """A statement compiled once for a dialect, then run as its SQL text with its parameters
    converted by their types (JSON, time zones), as SQLAlchemy would.

    SQLAlchemy compiles a statement once and keeps it only when it can make a cache key of it;
    it cannot of a multi-row VALUES (an interaction's links), which it then compiled on every
    run: 1.7 ms of CPU, more than the rest of the create.
    """

    def __init__(self, statement: Any, dialect: Any):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        # Bound names as the compiler rendered them (it may rename a bind it had twice).
        self._names = {bind.key: name for name, bind in compiled.binds.items()}

    def execute(self, connection: SqlConnection, parameters: dict[str, Any]) -> None:
        converted = {}
        for key, value in parameters.items():
            name = self._names[key]
            processor = self._processors.get(name)
            converted[name] = value if processor is None else processor(value)
        connection.exec_driver_sql(self.sql, converted)


# Statements of ``insert_with_events`` by shape (tables, keys, row counts): built and compiled once.
_COMBINED_INSERTS: dict[tuple[Any, ...], PrecompiledStatement] = {}
COMBINED_SHAPES_KEPT = 256
COMBINED_ROWS = 20  # more rows than this: one INSERT per table


def _combined_insert(shape: tuple[tuple[Any, tuple[str, ...], int], ...]) -> Any:
    inserts = []
    for part, (table, keys, count) in enumerate(shape):
        values = [
            {key: bindparam(f"p{part}_{index}_{key}", type_=table.c[key].type) for key in keys}
            for index in range(count)
        ]
        inserts.append(table.insert().values(values if count > 1 else values[0]))
    *first, last = inserts
    return last.add_cte(*(insert.cte(f"insert_{part}") for part, insert in enumerate(first)))


class ConfirmedPublisher:
    """Publishes a batch, then waits once for the broker to confirm all of it.

    Waiting for each message's confirm before sending the next made the relay
    one broker round trip per event; a batch now takes one. A negative
    acknowledgement or a missing confirm raises, and the batch stays unpublished
    in the outbox (its events go again, which consumers take once).
    """

    def __init__(self, connection: Connection, exchange_name: str):
        self.connection = connection
        self.exchange_name = exchange_name
        self.channel = connection.default_channel
        # Kombu's in-memory transport (unit tests) has no confirms: it publishes plainly.
        self._plain = None if hasattr(self.channel, "confirm_select") else Producer(self.channel)
        if self._plain is None:
            self.channel.confirm_select()
            self.channel.events["basic_ack"].add(self._on_ack)
            self.channel.events["basic_nack"].add(self._on_nack)
        self._sent = 0  # delivery tags run from 1 on a confirm channel
        self._confirmed = 0
        self._early: set[int] = set()
        self._refused = False

    def publish(self, body: str, *, routing_key: str, message_id: str) -> None:
        """Publish ``body``, an event's JSON text as the outbox holds it."""
        if self._plain is not None:
            self._plain.publish(
                body,
                exchange=self.exchange_name,
                routing_key=routing_key,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=message_id,
            )
            return
        message = amqp.Message(
            body,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=message_id,
        )
        self.channel.basic_publish(message, exchange=self.exchange_name, routing_key=routing_key)
        self._sent += 1

    def wait_for_confirms(self, timeout: float) -> None:
        if self._plain is not None:
            return
        deadline = time.monotonic() + timeout
        while self._confirmed < self._sent and not self._refused:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the broker confirmed {self._confirmed} of {self._sent} events")
            self.connection.drain_events(timeout=left)
        if self._refused:
            raise ConnectionError("the broker refused events (basic.nack)")

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._confirmed = max(self._confirmed, delivery_tag)
        else:
            self._early.add(delivery_tag)
        while self._confirmed + 1 in self._early:
            self._confirmed += 1
            self._early.discard(self._confirmed)
        self._early = {tag for tag in self._early if tag > self._confirmed}

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._refused = True


class OutboxRelay:
    """Publishes outbox rows in the background; woken right after a commit."""

    def __init__(self, *, engine: Engine, service_name: str, amqp_uri: str, settings: Any):
        self.engine = engine
        self.exchange = event_exchange(service_name)
        self.amqp_uri = amqp_uri
        self.settings = settings
        self._wakeup = Event()
        self._thread: Any = None
        self._running = False
        self._connection: Connection | None = None
        self._producer: ConfirmedPublisher | None = None
        self._last_prune = utcnow()
        self._published = outbox_published.labels(service_name)

    def start(self) -> None:
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the batch in flight be marked published, then stop."""
        self._running = False
        if self._thread is not None:
            self.wake()
            try:
                with eventlet.Timeout(grace_seconds):
                    self._thread.wait()
            except eventlet.Timeout:
                self._thread.kill()
            self._thread = None
        self._close_connection()

    def wake(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _run(self) -> None:
        while self._running:
            try:
                while self.publish_pending() == self.settings.batch_size:
                    pass
                self._maybe_prune()
            except Exception as exc:  # broker or database away: keep rows, retry later
                log.warning("outbox relay could not publish, will retry: %s", exc)
                self._close_connection()
                eventlet.sleep(self.settings.retry_delay_seconds)
                continue
            woken = False
            with eventlet.Timeout(self.settings.poll_interval_seconds, False):
                woken = self._wakeup.wait()
            self._wakeup = Event()
            if woken and self._running and self.settings.gather_seconds:
                # Other workers' commits join this one's batch (one claim, commit and confirm).
                eventlet.sleep(self.settings.gather_seconds)

    def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published.

        The batch is claimed and marked with one statement (``_CLAIM``) whose transaction
        commits only once the broker confirmed every message: a failure or a crash before
        then rolls the mark back, and the rows go again. Until then their row locks keep
        the relays of the service's other processes off them.
        """
        # A bare connection and a statement built once: the relay runs after every committed
        # write, and building its statements cost more CPU than running them.
        with self.engine.connect() as connection:
            rows = connection.execute(_CLAIM, {"now": utcnow(), "limit": self.settings.batch_size}).all()
            if not rows:
                return 0  # rolled back as the block ends
            rows.sort(key=lambda row: (row.created_at, row.id))  # RETURNING keeps no order
            publisher = self._get_producer()
            for row in rows:
                publisher.publish(row.body, routing_key=row.event_type, message_id=row.id)
            publisher.wait_for_confirms(timeout=self.settings.retry_delay_seconds * 5)
            connection.commit()
            self._published.inc(len(rows))
            return len(rows)

    def _get_producer(self) -> ConfirmedPublisher:
        if self._producer is None:
            connection = Connection(self.amqp_uri, connect_timeout=5)
            connection.ensure_connection(max_retries=1)
            self._connection = connection
            self.exchange(connection.default_channel).declare()
            self._producer = ConfirmedPublisher(connection, self.exchange.name)
        return self._producer

    def _close_connection(self) -> None:
        self._producer = None
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # already broken; nothing to release
                pass
            self._connection = None

    def _maybe_prune(self, keep: timedelta = timedelta(days=7)) -> None:
        now = utcnow()
        if now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        with Session(self.engine) as session:
            session.execute(_outbox.delete().where(_outbox.c.published_at < now - keep))
            session.commit()
