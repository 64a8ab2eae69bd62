"""Database access for a service: one engine per service, a unit of work per call.

SQLite (one file per service under ``var/``) is the laptop default; PostgreSQL is
chosen by URL and then each service lives in its own schema. psycopg2 is made
cooperative with eventlet by psycogreen, so a slow query never stalls the hub.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from crm.outbox import OutboxRelay, insert_with_events, is_one_statement, new_event, record_events
from crm.settings import Settings

T = TypeVar("T")

log = logging.getLogger(__name__)

# Constraint and index names every service's metadata uses (stable in migrations).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_green_psycopg = False
# A pooled connection idle for longer than this is checked (one ``SELECT 1``) before use.
PING_AFTER_IDLE_SECONDS = 1.0


def make_psycopg_cooperative() -> None:
    """Let psycopg2 yield to the eventlet hub while it waits on the network."""
    global _green_psycopg
    if _green_psycopg:
        return
    import eventlet.patcher

    if eventlet.patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _green_psycopg = True


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def create_service_engine(settings: Settings, service: str, max_overflow: int | None = None) -> Engine:
    """The engine for ``service``: its own SQLite file or its own PostgreSQL schema. On PostgreSQL
    the pool keeps ``database.pool_size`` connections and opens as many more at busy times, or
    ``max_overflow`` more."""
    url = make_url(settings.database_url(service))
    # Statement parameters stay out of error messages: they hold password hashes and personal
    # data, and an error's text travels over RPC and into the gateway's logs.
    options: dict[str, Any] = {"echo": settings.database.echo, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: under eventlet a second writer would spin
        # in SQLite's busy handler while blocking the very hub the first needs.
        options.update(pool_size=1, max_overflow=0, connect_args={"check_same_thread": False})
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.get_backend_name() == "postgresql":
        make_psycopg_cooperative()
        url = url.set(drivername="postgresql+psycopg2")
        options.update(
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.pool_size if max_overflow is None else max_overflow,
            # Many UPDATEs of one flush (a batch of provider events, an import) go in pages of
            # 100 per round trip (psycopg2's execute_batch), not one round trip each.
            executemany_mode="values_plus_batch",
            connect_args={
                "options": f"-csearch_path={service} "
                f"-crandom_page_cost={settings.database.postgres_random_page_cost} "
                f"-cdefault_toast_compression={settings.database.postgres_toast_compression}",
                "connect_timeout": 5,
            },
        )
        engine = create_engine(url, **options)
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
        return engine
    return create_engine(url, **options)


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dialect: Any, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pre-ping, but only for a connection that sat idle in the pool.

    Pinging every checkout cost a round trip per transaction. A connection
    returned less than a second ago is taken as alive; one that died in that
    second fails its statement, as a connection lost in the middle of a
    transaction would, and SQLAlchemy then replaces the whole pool.
    """
    if time.monotonic() - record.info.get("checked_in_at", 0.0) <= PING_AFTER_IDLE_SECONDS:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except Exception as error:  # the server closed it: the pool connects again
        raise exc.DisconnectionError(f"pooled connection lost: {error}") from error
    if not alive:
        raise exc.DisconnectionError("pooled connection lost")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def insert_ignoring_duplicates(session: Session, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the session's dialect (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table).on_conflict_do_nothing()


class UnitOfWork:
    """A session plus the events to publish once it commits.

    Events are written to the outbox in one statement just before the commit,
    so a unit of work that emits many events makes one round trip for them,
    not one each while it holds its row locks. A write that ends with INSERTs
    may take the events queued so far into its own statement instead
    (``take_events``, ``crm.outbox.insert_with_events``).
    """

    def __init__(self, session: Session):
        self.session = session
        self.events_recorded = 0
        self._events: list[dict[str, Any]] = []
        self._written = 0  # how many of ``_events`` are in the outbox already

    def emit(
        self, event_type: str, *, org_id: str, actor_id: str | None, record: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue an event for the outbox of this transaction; returns its payload."""
        payload = new_event(event_type, org_id=org_id, actor_id=actor_id, record=record)
        self.emit_all([payload])
        return payload

    def emit_all(self, payloads: list[dict[str, Any]]) -> None:
        """Queue events made by ``crm.outbox.new_event`` (bulk writers)."""
        self.events_recorded += len(payloads)
        self._events.extend(payloads)

    def events_mark(self) -> int:
        """Where the queue of events stands; ``drop_events_since`` goes back to it."""
        return len(self._events)

    def drop_events_since(self, mark: int) -> None:
        """Forget events queued after ``mark`` (their savepoint was rolled back, with the outbox
        rows of those already written)."""
        self.events_recorded -= len(self._events) - mark
        del self._events[mark:]
        self._written = min(self._written, mark)

    def take_events(self) -> list[dict[str, Any]]:
        """The events queued and not written yet, for the caller to write in this transaction now
        (with its own rows: ``crm.outbox.insert_with_events``); the commit will not write them."""
        taken = self._events[self._written :]
        self._written = len(self._events)
        return taken

    def write_events(self) -> None:
        """Write the queued events to the outbox (the transaction commits them with the change)."""
        record_events(self.session, self.take_events())

    def insert(self, rows: list[tuple[Any, list[dict[str, Any]]]]) -> None:
        """Insert ``rows`` (each table's, parents first) with the events queued so far: one
        statement on PostgreSQL (``crm.outbox.insert_with_events``)."""
        insert_with_events(self.session, rows, self.take_events())


class SingleWrite(UnitOfWork):
    """A unit of work that only reads, then writes once with ``insert`` (``DatabaseAccess.single_write``).

    Its session reads outside a transaction (a ``ReadSession``: each query one round trip, ORM
    writes refused). ``insert`` is one statement on PostgreSQL, atomic on its own, committed as
    it returns: a create and its event without the BEGIN and COMMIT round trips. More rows than
    one statement takes go in a transaction of their own.
    """

    def __init__(self, session: Session, engine: Engine):
        super().__init__(session)
        self._engine = engine

    def insert(self, rows: list[tuple[Any, list[dict[str, Any]]]]) -> None:
        events = self.take_events()
        connection = self.session.connection()
        if is_one_statement(connection, rows, events):
            insert_with_events(connection, rows, events)
            return
        with self._engine.begin() as writer:
            insert_with_events(writer, rows, events)

    def write_events(self) -> None:
        if self.take_events():
            raise RuntimeError("a single write's events go with its insert: use db.transaction()")


class ReadSession(Session):
    """A session that only reads: on PostgreSQL it runs outside a transaction.

    Each query is then one round trip, without the BEGIN and ROLLBACK around it;
    PostgreSQL's READ COMMITTED gives each statement its own snapshot either
    way. Writing through it is refused, since nothing would roll it back.
    """


@event.listens_for(ReadSession, "do_orm_execute")
def _refuse_statements_that_write(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("db.read() does not write: use db.transaction()")


@event.listens_for(ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("db.read() does not write: use db.transaction()")


@contextmanager
def _outside_transaction(engine: Engine) -> Iterator[Connection]:
    """A pooled connection in autocommit mode on PostgreSQL (as it is on SQLite: unchanged).

    psycopg2's own switch, not SQLAlchemy's isolation level: switching that
    back costs a ``SET default_transaction_isolation`` round trip on every return.
    """
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            yield connection
            return
        dbapi_connection = connection.connection.dbapi_connection
        dbapi_connection.autocommit = True
        try:
            yield connection
        finally:
            if not dbapi_connection.closed:
                dbapi_connection.autocommit = False


class DatabaseAccess:
    """What a worker sees as ``self.db``."""

    def __init__(self, engine: Engine, relay: OutboxRelay | None):
        self.engine = engine
        self.relay = relay

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Commit everything done in the block, or nothing if it raises."""
        session = Session(self.engine, expire_on_commit=False)
        uow = UnitOfWork(session)
        try:
            yield uow
            uow.write_events()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if uow.events_recorded and self.relay is not None:
            self.relay.wake()

    @contextmanager
    def single_write(self) -> Iterator[UnitOfWork]:
        """A unit of work that reads, then writes once with ``uow.insert`` (a create): on PostgreSQL
        a ``SingleWrite``, its insert committed with its events as one statement; elsewhere a
        ``transaction``. Nothing is written if the block raises before the insert."""
        if self.engine.dialect.name != "postgresql":
            with self.transaction() as uow:
                yield uow
            return
        with _outside_transaction(self.engine) as connection:
            uow = SingleWrite(ReadSession(bind=connection, autoflush=False), self.engine)
            try:
                yield uow
                uow.write_events()
            finally:
                uow.session.close()
        if uow.events_recorded and self.relay is not None:
            self.relay.wake()

    @contextmanager
    def dry_run(self) -> Iterator[UnitOfWork]:
        """A transaction that is always rolled back: what the block would write is not kept."""
        session = Session(self.engine)
        try:
            yield UnitOfWork(session)
        finally:
            session.close()  # rolls back

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only (see ``ReadSession``)."""
        with _outside_transaction(self.engine) as connection:
            session = ReadSession(bind=connection, autoflush=False)
            try:
                yield session
            finally:
                session.close()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection for a hot read path (no ORM), outside a transaction on PostgreSQL."""
        with _outside_transaction(self.engine) as connection:
            yield connection


class Database(DependencyProvider):
    """The service's database, and the relay for its outbox if it has one."""

    def __init__(self, metadata: MetaData):
        self.metadata = metadata
        self.engine: Engine | None = None
        self.relay: OutboxRelay | None = None

    def setup(self) -> None:
        settings: Settings = self.container.config["CRM"]
        service = self.container.service_name
        self.engine = create_service_engine(settings, service)
        if "outbox" in self.metadata.tables:
            self.relay = OutboxRelay(
                engine=self.engine,
                service_name=service,
                amqp_uri=settings.amqp_uri,
                settings=settings.outbox,
            )

    def start(self) -> None:
        if self.relay is not None:
            self.relay.start()

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> DatabaseAccess:
        return DatabaseAccess(self.engine, self.relay)


def once_more_on_conflict(transaction: Callable[[], T]) -> T:
    """Run ``transaction`` (a whole unit of work), and once more if a concurrent request with
    the same unique key (an e-mail, an idempotency key, a client-chosen id) committed first:
    it then finds that request's row and answers as a replay or a conflict."""
    try:
        return transaction()
    except exc.IntegrityError:
        return transaction()
