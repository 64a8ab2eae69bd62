"""Several processes of a service each run an outbox relay over the same table (run.processes > 1,
`docker compose up --scale`): each row goes to the broker once, whichever relay takes it."""

from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from crm.database import create_service_engine, is_postgresql
from crm.outbox import OutboxRelay, new_event, record_events
from tests.event_tap import CountingTap

SERVICE = "outbox_probe"
EVENTS = 300


def _unpublished(engine) -> int:
    with Session(engine) as session:
        return session.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


def test_two_relays_over_one_outbox_publish_each_row_once(probe_settings):
    if not is_postgresql(probe_settings.database_url(SERVICE)):
        pytest.skip("several processes of a service need PostgreSQL (TEST_DATABASE_URL)")
    tap = CountingTap(probe_settings.amqp_uri, SERVICE, "note_added")
    # Small batches, so that the two relays take many turns over the same rows.
    outbox_settings = probe_settings.outbox.model_copy(
        update={"batch_size": 7, "poll_interval_seconds": 0.05}
    )
    writer = create_service_engine(probe_settings, SERVICE)
    with Session(writer) as session:
        events = [
            new_event("note_added", org_id="org-pomme", actor_id=None, record={"body": f"note {n}"})
            for n in range(EVENTS)
        ]
        record_events(session, events)
        session.commit()
    # Two engines: two pools of connections, as two processes have.
    engines = [create_service_engine(probe_settings, SERVICE) for _ in range(2)]
    relays = [
        OutboxRelay(
            engine=engine, service_name=SERVICE, amqp_uri=probe_settings.amqp_uri, settings=outbox_settings
        )
        for engine in engines
    ]
    taken = [0, 0]

    def counting(index: int, publish_pending):
        def publish() -> int:
            published = publish_pending()
            taken[index] += published
            return published

        return publish

    for index, relay in enumerate(relays):
        relay.publish_pending = counting(index, relay.publish_pending)
    try:
        for relay in relays:
            relay.start()
        with eventlet.Timeout(30):
            while _unpublished(writer):
                for relay in relays:
                    relay.wake()
                eventlet.sleep(0.05)
    finally:
        for relay in relays:
            relay.stop()  # lets a batch in flight finish: its messages are confirmed by then
        for engine in [writer, *engines]:
            engine.dispose()
    try:
        deliveries = tap.everything_so_far()
    finally:
        tap.close()

    twice = {event_id: count for event_id, count in deliveries.items() if count > 1}
    assert twice == {}, f"{len(twice)} of {EVENTS} rows published more than once (relays took {taken})"
    assert set(deliveries) == {event["event_id"] for event in events}
    # Both relays worked the table at the same time (else the test shows nothing).
    assert all(taken) and sum(taken) == EVENTS, taken
