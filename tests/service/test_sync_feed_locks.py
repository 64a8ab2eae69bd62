"""Two of sync's event handlers touching the same rows take them in one order, so neither waits
for the other forever: a web view of a company (``record_viewed``) while the handler of its
creation (``company_created``, by the same user) holds the change counter deadlocked once, the
view having written the user's touch before it asked for the counter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.database import create_service_engine, is_postgresql, once_more_on_conflict
from services.sync import feed
from services.sync.models import Base, ChangeCounter, ScopeState, Touch

SCHEMA = "sync_feed_locks"
POMME, ALICE, DUPONT = "org-pomme", "user-alice", "company-dupont"
AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(settings) -> Iterator[Engine]:
    if not is_postgresql(settings.database_url("sync")):
        pytest.skip("row locks are PostgreSQL's")
    engine = create_service_engine(settings, SCHEMA)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(ChangeCounter(id=feed.COUNTER_ID, seq=0))
        session.add(ScopeState(user_id=ALICE, org_id=POMME, computed_seq=0, dirty_seq=0, valid_until=AT))
        session.commit()
    yield engine
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    engine.dispose()


def _waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE '%change_counter%'"
                )
            ).scalar()
        )


def test_a_view_during_the_creation_of_what_it_views_waits_and_neither_deadlocks(engine):
    company = {"id": DUPONT, "name": "Boulangerie Dupont", "version": 1}
    errors: list[BaseException] = []

    def view() -> None:
        def transaction() -> None:
            with Session(engine) as session:
                feed.apply_touch(feed.Feed(session, POMME), ALICE, "companies", DUPONT, AT)
                session.commit()

        try:
            once_more_on_conflict(transaction)
        except BaseException as error:  # noqa: BLE001  reported by the test below
            errors.append(error)

    with Session(engine) as creation:
        created = feed.Feed(creation, POMME)
        feed.apply_company(created, company, False)  # holds the change counter until commit
        viewer = threading.Thread(target=view)
        viewer.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(engine):  # the view waits for the counter
            assert time.monotonic() < deadline and viewer.is_alive(), errors
            time.sleep(0.02)
        feed.apply_touch(created, ALICE, "companies", DUPONT, AT)  # the creator's own touch
        creation.commit()
    viewer.join(10)

    assert not viewer.is_alive() and errors == []
    with Session(engine) as session:
        touches = session.execute(select(Touch.user_id, Touch.touched_at)).all()
        assert touches == [(ALICE, AT)]
        assert session.get(ScopeState, ALICE).dirty_seq == 1  # the creation's change, seen by Alice
