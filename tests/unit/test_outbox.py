"""The transactional outbox: events commit with their change, or not at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import Mock

import pytest
from kombu import Connection, Queue
from sqlalchemy import select

from crm.database import DatabaseAccess
from crm.outbox import OutboxRelay, event_exchange, insert_with_events, record_event
from crm.settings import OutboxSettings
from services.accounts.models import outbox

CONTACT = {"id": "c-1", "name": "Pomme Siège Central"}


def _rows(db: DatabaseAccess) -> list:
    with db.read() as session:
        return session.execute(select(outbox).order_by(outbox.c.created_at, outbox.c.id)).all()


def test_recorded_event_is_a_row_carrying_id_org_time_actor_and_record(accounts_db):
    before = datetime.now(UTC)
    with accounts_db.transaction() as uow:
        payload = record_event(
            uow.session, "company_updated", org_id="pomme", actor_id="alice", record=CONTACT
        )

    (row,) = _rows(accounts_db)
    assert row.id == row.payload["event_id"] == payload["event_id"]
    assert row.event_type == "company_updated"
    assert row.published_at is None
    assert row.payload["org_id"] == "pomme"
    assert row.payload["actor_id"] == "alice"
    assert row.payload["record"] == CONTACT
    occurred_at = datetime.fromisoformat(row.payload["occurred_at"])
    assert occurred_at.utcoffset() == timedelta(0)
    assert before <= occurred_at <= datetime.now(UTC)


def test_each_event_gets_its_own_id(accounts_db):
    with accounts_db.transaction() as uow:
        first = uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
        second = uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)

    assert first["event_id"] != second["event_id"]
    assert len(_rows(accounts_db)) == 2


def test_nothing_is_visible_when_the_transaction_rolls_back(accounts_db):
    with pytest.raises(ValueError), accounts_db.transaction() as uow:
        uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
        raise ValueError("the change itself was refused")

    assert _rows(accounts_db) == []


def test_events_written_with_a_writes_own_statement_are_written_once_and_leave_with_their_savepoint(
    accounts_db,
):
    with accounts_db.transaction() as uow:
        uow.emit("company_created", org_id="pomme", actor_id="alice", record={"id": "siege"})
        insert_with_events(uow.session, [], uow.take_events())
        savepoint, mark = uow.session.begin_nested(), uow.events_mark()
        uow.emit("company_created", org_id="pomme", actor_id="alice", record={"id": "refused"})
        insert_with_events(uow.session, [], uow.take_events())
        savepoint.rollback()
        uow.drop_events_since(mark)
        uow.emit("company_created", org_id="pomme", actor_id="alice", record={"id": "magasin"})

    assert [row.payload["record"]["id"] for row in _rows(accounts_db)] == ["siege", "magasin"]
    assert uow.events_recorded == 2


def test_relay_is_woken_once_the_events_are_committed(accounts_db):
    relay = Mock(spec=OutboxRelay)
    db = DatabaseAccess(accounts_db.engine, relay)

    with db.transaction() as uow:
        uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
        relay.wake.assert_not_called()

    relay.wake.assert_called_once_with()


def test_relay_is_not_woken_for_a_rollback_or_a_change_without_events(accounts_db):
    relay = Mock(spec=OutboxRelay)
    db = DatabaseAccess(accounts_db.engine, relay)

    with pytest.raises(ValueError), db.transaction() as uow:
        uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
        raise ValueError("refused")
    with db.transaction():
        pass

    relay.wake.assert_not_called()


# The relay against kombu's in-memory transport: real publishing code, no broker.


@pytest.fixture
def listener():
    connection = Connection("memory://")
    queue = Queue(
        f"test-{uuid.uuid4().hex}",
        exchange=event_exchange("accounts"),
        routing_key="company_updated",
    )
    bound = queue(connection.default_channel)
    bound.declare()
    yield bound
    bound.delete()
    connection.release()


def _relay(db: DatabaseAccess) -> OutboxRelay:
    return OutboxRelay(
        engine=db.engine, service_name="accounts", amqp_uri="memory://", settings=OutboxSettings()
    )


def test_relay_publishes_committed_events_once_and_marks_them(accounts_db, listener):
    with accounts_db.transaction() as uow:
        payload = uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
    relay = _relay(accounts_db)

    published = relay.publish_pending()
    again = relay.publish_pending()
    relay.stop()

    assert (published, again) == (1, 0)
    message = listener.get(no_ack=True)
    assert message.payload == payload
    assert message.properties["message_id"] == payload["event_id"]
    assert listener.get(no_ack=True) is None
    assert _rows(accounts_db)[0].published_at is not None


def test_events_stay_unpublished_when_the_broker_refuses_them(accounts_db, monkeypatch):
    with accounts_db.transaction() as uow:
        uow.emit("company_updated", org_id="pomme", actor_id="alice", record=CONTACT)
    relay = _relay(accounts_db)
    broker_down = Mock()
    broker_down.publish.side_effect = ConnectionError("broker unreachable")
    monkeypatch.setattr(relay, "_get_producer", lambda: broker_down)

    with pytest.raises(ConnectionError):
        relay.publish_pending()

    assert _rows(accounts_db)[0].published_at is None
