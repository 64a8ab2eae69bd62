"""The database dependency and the outbox, in a running service on the real broker."""

from __future__ import annotations

import uuid

import eventlet
import kombu.exceptions
import pytest
from kombu import Connection, Consumer, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.database import Database, create_service_engine
from crm.errors import InvalidInput
from crm.outbox import OutboxRelay, event_exchange, record_event
from crm.rpc import rpc
from tests.service.conftest import notes, probe_metadata


class OutboxProbe:
    name = "outbox_probe"
    db = Database(probe_metadata)

    @rpc
    def add_note(self, body: str, fail: bool = False) -> int:
        with self.db.transaction() as uow:
            result = uow.session.execute(notes.insert().values(body=body))
            uow.emit("note_added", org_id="org-pomme", actor_id="user-alice", record={"body": body})
            if fail:
                raise InvalidInput("body: refused after writing")
            return result.inserted_primary_key[0]


def _count(settings, table) -> int:
    engine = create_service_engine(settings, "outbox_probe")
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(table))
    finally:
        engine.dispose()


class EventTap:
    """A queue bound to a service's events exchange, read with kombu."""

    def __init__(self, amqp_uri: str, service: str, event_type: str):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"tap-{uuid.uuid4().hex}",
            exchange=event_exchange(service),
            routing_key=event_type,
            exclusive=True,
            auto_delete=True,
        )
        self.received: list[dict] = []
        self.consumer = Consumer(self.connection, [self.queue], callbacks=[self._on_message], accept=["json"])
        self.consumer.consume()

    def _on_message(self, body, message):
        self.received.append(body)
        message.ack()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        with eventlet.Timeout(timeout, False):
            while len(self.received) < count:
                try:
                    self.connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
        return self.received

    def close(self):
        self.connection.release()


@pytest.fixture
def tap(probe_settings):
    taps = []

    def make(service: str, event_type: str) -> EventTap:
        taps.append(EventTap(probe_settings.amqp_uri, service, event_type))
        return taps[-1]

    yield make
    for each in taps:
        each.close()


def test_committed_change_and_its_event_are_published_together(container_factory, probe_settings, tap):
    listener = tap("outbox_probe", "note_added")
    container = container_factory(OutboxProbe, probe_settings.nameko_config())
    container.start()
    with ClusterRpcProxy(probe_settings.nameko_config(), timeout=10) as cluster:
        cluster.outbox_probe.add_note("Rappeler Pomme Siège Central")
    events = listener.wait_for(1)
    assert len(events) == 1
    event = events[0]
    assert event["event_type"] == "note_added"
    assert event["record"] == {"body": "Rappeler Pomme Siège Central"}
    assert (event["org_id"], event["actor_id"]) == ("org-pomme", "user-alice")
    assert event["event_id"] and event["occurred_at"].endswith("+00:00")
    assert _count(probe_settings, notes) == 1


def test_rejected_call_writes_nothing_and_announces_nothing(container_factory, probe_settings, tap):
    listener = tap("outbox_probe", "note_added")
    container = container_factory(OutboxProbe, probe_settings.nameko_config())
    container.start()
    with ClusterRpcProxy(probe_settings.nameko_config(), timeout=10) as cluster:
        with pytest.raises(InvalidInput, match="refused after writing"):
            cluster.outbox_probe.add_note("Devis Chambre 404", fail=True)
        cluster.outbox_probe.add_note("Devis accepté")
    events = listener.wait_for(2, timeout=3)
    assert [event["record"]["body"] for event in events] == ["Devis accepté"]
    assert _count(probe_settings, notes) == 1


def test_relay_keeps_events_while_the_broker_is_unreachable(probe_settings, tap):
    listener = tap("outbox_probe", "note_added")
    engine = create_service_engine(probe_settings, "outbox_probe")
    with Session(engine) as session:
        for body in ("premier", "deuxième", "troisième"):
            record_event(session, "note_added", org_id="org-pomme", actor_id=None, record={"body": body})
        session.commit()
    relay = OutboxRelay(
        engine=engine,
        service_name="outbox_probe",
        amqp_uri="amqp://guest:guest@127.0.0.1:1/",
        settings=probe_settings.outbox,
    )
    with pytest.raises(kombu.exceptions.OperationalError):  # connection refused
        relay.publish_pending()
    assert listener.wait_for(1, timeout=1) == []
    # the broker is back (here: the right address); nothing was lost
    relay.amqp_uri = probe_settings.amqp_uri
    relay.start()
    try:
        relay.wake()
        events = listener.wait_for(3)
    finally:
        relay.stop()
        engine.dispose()
    assert [event["record"]["body"] for event in events] == ["premier", "deuxième", "troisième"]
    assert relay.publish_pending() == 0  # all marked published


def test_relay_in_background_retries_until_the_broker_answers(probe_settings, tap):
    listener = tap("outbox_probe", "note_added")
    engine = create_service_engine(probe_settings, "outbox_probe")
    relay = OutboxRelay(
        engine=engine,
        service_name="outbox_probe",
        amqp_uri="amqp://guest:guest@127.0.0.1:1/",
        settings=probe_settings.outbox,
    )
    relay.start()
    try:
        with Session(engine) as session:
            record_event(
                session, "note_added", org_id="org-pomme", actor_id=None, record={"body": "en attente"}
            )
            session.commit()
        relay.wake()
        eventlet.sleep(0.5)  # several failed attempts
        assert listener.wait_for(1, timeout=0.5) == []
        relay.amqp_uri = probe_settings.amqp_uri
        events = listener.wait_for(1)
    finally:
        relay.stop()
        engine.dispose()
    assert [event["record"]["body"] for event in events] == ["en attente"]


@pytest.fixture
def probe_db(probe_settings):
    from crm.database import DatabaseAccess

    engine = create_service_engine(probe_settings, "outbox_probe")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


def test_a_read_session_refuses_to_write_and_writes_nothing(probe_db, probe_settings):
    with pytest.raises(RuntimeError, match="does not write"), probe_db.read() as session:
        session.execute(notes.insert().values(body="through a read"))
    with pytest.raises(RuntimeError, match="does not write"), probe_db.read() as session:
        session.execute(notes.update().values(body="changed"))
    assert _count(probe_settings, notes) == 0


def test_a_database_error_does_not_carry_the_values_written(probe_db):
    with probe_db.transaction() as uow:
        uow.session.execute(notes.insert().values(id=1, body="premier"))
    with pytest.raises(IntegrityError) as clash, probe_db.transaction() as uow:
        uow.session.execute(notes.insert().values(id=1, body="$argon2id$v=19$secret-hash"))
    assert "secret-hash" not in str(clash.value)


def test_a_dry_run_sees_its_own_writes_and_keeps_none(probe_db, probe_settings):
    with probe_db.dry_run() as uow:
        uow.session.execute(notes.insert().values(body="tried"))
        assert uow.session.scalar(select(func.count()).select_from(notes)) == 1
    assert _count(probe_settings, notes) == 0


def test_reads_see_what_committed_meanwhile(probe_db, probe_settings):
    from crm.database import is_postgresql

    if not is_postgresql(probe_settings.database_url("outbox_probe")):
        pytest.skip("PostgreSQL reads run outside a transaction; SQLite has one connection per process")
    with probe_db.read() as session:
        before = session.scalar(select(func.count()).select_from(notes))
        with probe_db.transaction() as uow:
            uow.session.execute(notes.insert().values(body="committed while reading"))
        assert session.scalar(select(func.count()).select_from(notes)) == before + 1


def test_a_pooled_connection_the_server_dropped_is_replaced_before_use(probe_db, probe_settings):
    from sqlalchemy import text

    from crm.database import PING_AFTER_IDLE_SECONDS, is_postgresql

    if not is_postgresql(probe_settings.database_url("outbox_probe")):
        pytest.skip("needs PostgreSQL: a server that can drop a client's connection")
    with probe_db.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    other = create_service_engine(probe_settings, "outbox_probe")
    with other.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    other.dispose()
    eventlet.sleep(PING_AFTER_IDLE_SECONDS + 0.2)  # idle long enough to be checked on checkout
    with probe_db.transaction() as uow:
        uow.session.execute(notes.insert().values(body="after the drop"))
    with probe_db.read() as session:
        assert session.scalar(select(notes.c.body)) == "after the drop"
        assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid


def _outbox_rows(probe_settings) -> int:
    from crm.outbox import _outbox

    return _count(probe_settings, _outbox)


def test_a_single_write_commits_its_insert_with_its_event_and_nothing_when_refused_before(
    probe_db, probe_settings
):
    from crm.database import is_postgresql

    if not is_postgresql(probe_settings.database_url("outbox_probe")):
        pytest.skip("elsewhere a single write is a transaction")
    with probe_db.single_write() as uow:
        assert uow.session.scalar(select(func.count()).select_from(notes)) == 0
        uow.emit("note_added", org_id="org-pomme", actor_id="user-alice", record={"body": "Rappeler"})
        uow.insert([(notes, [{"id": 1, "body": "Rappeler"}])])
    assert (_count(probe_settings, notes), _outbox_rows(probe_settings)) == (1, 1)

    with pytest.raises(InvalidInput), probe_db.single_write() as uow:
        uow.emit("note_added", org_id="org-pomme", actor_id="user-alice", record={"body": "refusé"})
        raise InvalidInput("body: refused before writing")
    # An event nothing inserted is a mistake of the caller, and writes nothing either.
    with pytest.raises(RuntimeError, match="single write"), probe_db.single_write() as uow:
        uow.emit("note_added", org_id="org-pomme", actor_id="user-alice", record={"body": "seul"})
    # Its session only reads: a write through the ORM is refused.
    with pytest.raises(RuntimeError, match="does not write"), probe_db.single_write() as uow:
        uow.session.execute(notes.insert().values(body="through the session"))
    assert (_count(probe_settings, notes), _outbox_rows(probe_settings)) == (1, 1)
