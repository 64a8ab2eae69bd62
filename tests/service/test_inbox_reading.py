"""A consumer records an event's delivery and reads what it needs to apply it in one round trip
(PostgreSQL; ``crm.inbox.first_delivery_reading``), and is told a redelivery as with
``first_delivery``."""

from __future__ import annotations

import pytest
from sqlalchemy import String, bindparam, literal, select

from crm.database import DatabaseAccess, create_service_engine
from crm.inbox import first_delivery_reading

EVENT_ID = "01a20000-0000-7000-8000-0000000000a1"
OTHER_ID = "01a20000-0000-7000-8000-0000000000a2"
THIRD_ID = "01a20000-0000-7000-8000-0000000000a3"
CONSUMER = "interactions.mail_received"


@pytest.fixture
def accounts_db(migrated):
    engine = create_service_engine(migrated, "accounts")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


ROOM = select(bindparam("room", type_=String).label("room"))


def test_the_first_delivery_comes_with_the_row_read_and_a_redelivery_is_told_so(accounts_db):
    with accounts_db.transaction() as uow:
        first, row = first_delivery_reading(uow.session, EVENT_ID, CONSUMER, ROOM, {"room": "Chambre 404"})
    assert first is True and row.room == "Chambre 404"

    with accounts_db.transaction() as uow:
        first, row = first_delivery_reading(uow.session, EVENT_ID, CONSUMER, ROOM, {"room": "Chambre 405"})
    assert first is False and row.room == "Chambre 405"


def test_a_query_without_a_row_reads_none_and_the_delivery_is_still_recorded(accounts_db):
    nothing = select(literal("Chambre 404").label("room")).where(literal(False))
    with accounts_db.transaction() as uow:
        assert first_delivery_reading(uow.session, OTHER_ID, CONSUMER, nothing) == (True, None)
    with accounts_db.transaction() as uow:
        assert first_delivery_reading(uow.session, OTHER_ID, CONSUMER, nothing) == (False, None)


def test_a_delivery_rolled_back_is_a_first_delivery_again(accounts_db):
    room = select(literal("Chambre 404").label("room"))
    with pytest.raises(RuntimeError), accounts_db.transaction() as uow:
        assert first_delivery_reading(uow.session, THIRD_ID, CONSUMER, room)[0] is True
        raise RuntimeError("the interaction could not be stored")
    with accounts_db.transaction() as uow:
        assert first_delivery_reading(uow.session, THIRD_ID, CONSUMER, room)[0] is True
