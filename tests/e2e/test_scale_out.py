"""Scale-out: two processes of contacts and two of the gateway, each a `crm serve` of its own; a
client writes through both gateways while one process of each is SIGKILLed. Every acknowledged
write is stored once, every event is applied once, and the writes go on."""

from __future__ import annotations

import time
from collections import Counter
from itertools import count
from typing import Any

import eventlet
import pytest
import requests
import yaml
from amqp.exceptions import NotFound
from kombu import Connection
from sqlalchemy import text

from crm.database import create_service_engine, is_postgresql
from crm.migrations import upgrade
from crm.settings import parse_settings
from tests.broker import fresh_vhost
from tests.e2e.conftest import System, free_port
from tests.e2e.fleet import Fleet, answers_ready, fresh_database
from tests.event_tap import CountingTap

CLIENTS = 4  # writes in flight at once
KILL_CONTACTS_AFTER = 20  # acknowledged writes
KILL_GATEWAY_AFTER = 40
WRITES_AFTER_KILLS = 30  # writes begun once both processes are dead
REPLAYED = 5
# nameko's queue for sync's handler of contact_created (a durable queue shared by sync's processes).
SYNC_QUEUE = "evt-contacts-contact_created--sync.on_contact_created"


def queue_state(amqp_uri: str, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of ``queue``; (0, 0) while it does not exist."""
    with Connection(amqp_uri) as connection:
        try:
            _, messages, consumers = connection.default_channel.queue_declare(queue, passive=True)
        except NotFound:
            return 0, 0
    return messages, consumers


@pytest.fixture
def scaled(tmp_path, amqp_uri, database_url):
    if not is_postgresql(database_url):
        pytest.skip("several processes of a service need PostgreSQL (TEST_DATABASE_URL)")
    # A vhost and a database of their own: no other system of the tests' consumes these queues or
    # relays this outbox.
    amqp = fresh_vhost(amqp_uri, "scale")
    ports = [free_port(), free_port()]
    document: dict[str, Any] = {
        "amqp_uri": amqp,
        "data_dir": str(tmp_path / "var"),
        "log_level": "INFO",
        "log_format": "json",
        "database": {"url": fresh_database(database_url, "scale"), "pool_size": 4},
        "services": ["accounts", "gateway", "contacts", "sync"],
        "gateway": {"host": "127.0.0.1", "rpc_timeout_seconds": 10},
        "outbox": {"poll_interval_seconds": 0.2, "retry_delay_seconds": 0.2},
        "metrics": {"port": 0},  # six processes, none serving metrics on the one default port
    }
    configs = []
    for name, port in zip("ab", ports, strict=True):
        document["gateway"]["port"] = port
        configs.append(tmp_path / f"crm-{name}.yaml")
        configs[-1].write_text(yaml.safe_dump(document))
    settings = parse_settings(configs[0].read_text())
    for service in ("accounts", "contacts", "sync"):
        upgrade(settings, service)
    fleet = Fleet(tmp_path)
    gateways = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for name, service, config in [
            ("accounts", "accounts", configs[0]),
            ("sync", "sync", configs[0]),
            ("contacts-a", "contacts", configs[0]),
            ("contacts-b", "contacts", configs[1]),
            ("gateway-a", "gateway", configs[0]),
            ("gateway-b", "gateway", configs[1]),
        ]:
            fleet.start(name, service, config)
        # Both processes of contacts take requests; sync takes contact_created.
        consumers = {"rpc-accounts": 1, "rpc-sync": 1, "rpc-contacts": 2, SYNC_QUEUE: 1}

        def ready() -> bool:
            # The queues first: asking /readyz costs each service a call, while they all start.
            return all(queue_state(amqp, queue)[1] == n for queue, n in consumers.items()) and all(
                answers_ready(url) for url in gateways
            )

        fleet.wait_until(ready, "every process ready", timeout=90, every=0.25)
        yield fleet, gateways, System(gateways[0], configs[0], settings), amqp
    finally:
        fleet.stop_all()


class Writer:
    """A client creating contacts as a real one does: each create carries an Idempotency-Key; a
    create that failed (no answer, or a 5xx) goes again with the same key to the other gateway."""

    def __init__(self, gateways: list[str], token: str):
        self.gateways = gateways
        self.token = token
        self.answers: dict[int, dict[str, Any]] = {}  # acknowledged writes: n -> answer
        self.in_flight: dict[int, tuple[int, float]] = {}  # n -> (gateway asked, since when)

    def write(self, n: int) -> None:
        body = {"first_name": "Léa", "last_name": name_of(n)}
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"scale-out-{n}"}
        deadline = time.monotonic() + 40
        for attempt in count(1):
            gateway = (n + attempt) % 2
            self.in_flight[n] = (gateway, time.monotonic())
            try:
                response = requests.post(
                    f"{self.gateways[gateway]}/api/v1/contacts", json=body, headers=headers, timeout=30
                )
            except requests.RequestException:
                response = None
            if response is not None and response.status_code in (200, 201):
                del self.in_flight[n]
                self.answers[n] = {
                    "status": response.status_code,
                    "id": response.json()["id"],
                    "attempts": attempt,
                }
                return
            # A 4xx would mean the retry was refused (409: the key taken as another create's).
            assert response is None or response.status_code >= 500, (n, response.status_code, response.text)
            assert time.monotonic() < deadline, f"write {n} not acknowledged by either gateway"
            if attempt % 2 == 0:
                time.sleep(0.1)  # both gateways failed in turn: give them a moment

    def held_longer_than(self, seconds: float) -> set[int]:
        now = time.monotonic()
        return {n for n, (_, since) in list(self.in_flight.items()) if now - since > seconds}

    def waiting_on(self, gateway: int) -> set[int]:
        return {n for n, (asked, _) in list(self.in_flight.items()) if asked == gateway}


def name_of(n: int) -> str:
    return f"Scale {n:03d}"


def _all_pages(api, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        page = api.get(path, params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _rows(engine, sql: str, **params) -> list:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def test_two_processes_of_contacts_and_gateway_one_of_each_killed_mid_stream(scaled):
    fleet, gateways, system, amqp = scaled
    org_id, email = system.bootstrap_org()
    admin = system.login(email)
    # Counts every publication of contact_created, as each consumer's queue receives them.
    tap = CountingTap(amqp, "contacts", "contact_created")
    contacts_db = create_service_engine(system.settings, "contacts")
    sync_db = create_service_engine(system.settings, "sync")
    try:
        writer, kills = _write_and_kill(fleet, gateways, admin.token, contacts_db, org_id)
        _stored_once(writer, kills, admin, gateways)
        _applied_once(fleet, writer, tap, contacts_db, sync_db, amqp, org_id)
    finally:
        tap.close()
        contacts_db.dispose()
        sync_db.dispose()


def _write_and_kill(fleet: Fleet, gateways: list[str], token: str, contacts_db, org_id: str):
    """The stream of writes through both gateways, and the two kills in the middle of it."""
    writer = Writer(gateways, token)
    kills: dict[str, Any] = {"after": []}  # what each kill left behind; writes begun after both

    def acknowledged(count: int) -> None:
        fleet.wait_until(lambda: len(writer.answers) >= count, f"{count} acknowledged writes")

    def kill_contacts_holding_writes() -> None:
        # Paused, contacts-a keeps the requests RabbitMQ hands it (about one in two) unanswered:
        # killed then, it dies in the middle of them.
        fleet.pause("contacts-a")
        fleet.wait_until(lambda: writer.held_longer_than(1.5), "a write held by the paused contacts-a")
        kills["contacts-a"] = writer.held_longer_than(1.5)
        fleet.kill("contacts-a")

    def committed(numbers: set[int]) -> set[int]:
        rows = _rows(
            contacts_db,
            "SELECT last_name FROM contacts WHERE org_id = :org AND last_name = ANY(:names)",
            org=org_id,
            names=[name_of(n) for n in numbers],
        )
        return {n for n in numbers if (name_of(n),) in rows}

    def kill_gateway_after_a_commit() -> None:
        # A lock of the test's holds contacts' inserts, so gateway-a certainly has writes sent on
        # and not yet committed when it is paused; released, they commit while gateway-a, paused,
        # answers none of them. Killed then, it leaves its client without an answer for a stored
        # write. (Pausing at a random moment found one only now and then: on a quiet machine a
        # write commits within a few ms of being sent on, and 20 pauses in a row could miss.)
        for _ in range(5):
            with contacts_db.connect() as blocker:
                blocker.execute(text("LOCK TABLE contacts IN SHARE MODE"))
                fleet.wait_until(
                    lambda: writer.held_longer_than(0.5) & writer.waiting_on(0),
                    "a write of gateway-a held by the lock",
                )
                fleet.pause("gateway-a")
                # Those committed before the lock may have had their answer sent: not these.
                waiting = writer.waiting_on(0)
                waiting -= committed(waiting)
                blocker.rollback()
            deadline = time.monotonic() + 5
            while waiting and time.monotonic() < deadline:
                if stored := committed(waiting):
                    kills["gateway-a"] = stored
                    fleet.kill("gateway-a")
                    return
                time.sleep(0.05)
            fleet.resume("gateway-a")  # it had sent none on: again a little later
            acknowledged(len(writer.answers) + CLIENTS)
        raise AssertionError("gateway-a held no write that committed in 5 pauses")

    def kill_mid_stream() -> None:
        acknowledged(KILL_CONTACTS_AFTER)
        kill_contacts_holding_writes()
        acknowledged(KILL_GATEWAY_AFTER)
        kill_gateway_after_a_commit()

    def stream():
        """Write numbers, until enough writes began after both kills (or the killing failed)."""
        for n in count():
            if killer.dead and "gateway-a" not in kills:
                return
            if "gateway-a" in kills:
                kills["after"].append(n)
                if len(kills["after"]) > WRITES_AFTER_KILLS:
                    return
            yield n

    killer = eventlet.spawn(kill_mid_stream)
    for _ in eventlet.GreenPool(CLIENTS).imap(writer.write, stream()):
        pass
    killer.wait()
    return writer, kills


def _stored_once(writer: Writer, kills: dict[str, Any], admin, gateways: list[str]) -> None:
    # The stream went on: every write acknowledged, those begun after both kills included.
    writes = len(writer.answers)
    assert sorted(writer.answers) == list(range(writes))
    assert len(kills["after"]) > WRITES_AFTER_KILLS
    # The writes contacts-a died holding were answered by contacts-b, the client none the wiser.
    assert {writer.answers[n]["attempts"] for n in kills["contacts-a"]} == {1}
    # A write stored but unanswered when gateway-a died was sent again to gateway-b, which
    # answered it as a replay of the stored one.
    assert {writer.answers[n]["status"] for n in kills["gateway-a"]} == {200}
    assert min(writer.answers[n]["attempts"] for n in kills["gateway-a"]) >= 2

    # Stored once: the API lists each write once, under the id its answer gave.
    admin.base_url = gateways[1]  # the gateway still up
    listed = _all_pages(admin, "/api/v1/contacts")
    assert Counter(contact["last_name"] for contact in listed) == {name_of(n): 1 for n in range(writes)}
    assert {contact["id"] for contact in listed} == {answer["id"] for answer in writer.answers.values()}
    print(
        f"scale-out: {writes} writes, {sum(a['attempts'] > 1 for a in writer.answers.values())} retried, "
        f"{sum(a['status'] == 200 for a in writer.answers.values())} answered as replays; "
        f"{len(kills['contacts-a'])} held by the killed contacts, {len(kills['gateway-a'])} stored "
        f"but unanswered by the killed gateway"
    )


def _applied_once(
    fleet: Fleet, writer: Writer, tap: CountingTap, contacts_db, sync_db, amqp: str, org_id: str
):
    ids = {answer["id"] for answer in writer.answers.values()}
    # One event per stored contact (a replayed create announces nothing).
    events = _rows(
        contacts_db,
        "SELECT id, payload->'record'->>'id' FROM outbox "
        "WHERE event_type = 'contact_created' AND payload->>'org_id' = :org",
        org=org_id,
    )
    assert Counter(record_id for _, record_id in events) == dict.fromkeys(ids, 1)
    event_ids = [event_id for event_id, _ in events]

    def unpublished() -> int:
        return _rows(contacts_db, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]

    def handled() -> dict[str, Any]:
        """sync's inbox for these events: event id -> (rows, when handled)."""
        rows = _rows(
            sync_db,
            "SELECT event_id, count(*), min(processed_at) FROM processed_events "
            "WHERE consumer = 'sync.contact_created' AND event_id = ANY(:ids) GROUP BY event_id",
            ids=event_ids,
        )
        return {event_id: (n, at) for event_id, n, at in rows}

    fleet.wait_until(lambda: unpublished() == 0, "outbox published by the surviving relay", timeout=30)
    fleet.wait_until(lambda: len(handled()) == len(event_ids), "every event handled by sync", timeout=30)

    # A relay killed between the broker's confirm and its commit leaves its rows unpublished: the
    # relay of the other process sends them again. Made certain here for a few rows.
    replayed = sorted(event_ids)[:REPLAYED]
    before = handled()
    seq_before = _rows(sync_db, "SELECT seq FROM change_counter")
    with contacts_db.begin() as connection:
        connection.execute(
            text("UPDATE outbox SET published_at = NULL WHERE id = ANY(:ids)"), {"ids": replayed}
        )
    fleet.wait_until(lambda: unpublished() == 0, "the replayed rows published again", timeout=30)
    deliveries = tap.everything_so_far()
    assert set(deliveries) == set(event_ids)
    assert all(deliveries[event_id] >= 2 for event_id in replayed), deliveries
    # sync takes every message of its queue, then stops (its workers in flight finish first):
    # nothing left in the queue then means every delivery, the second ones included, was handled.
    fleet.wait_until(lambda: queue_state(amqp, SYNC_QUEUE)[0] == 0, "sync taking every delivery")
    assert fleet.stop("sync") == 0
    fleet.wait_until(lambda: queue_state(amqp, SYNC_QUEUE) == (0, 0), "an empty sync queue, no consumer")

    # Applied once: one inbox row per event, the first one kept; the replica holds each contact
    # once and took no new change for the second deliveries (phones fetch nothing again).
    assert handled() == before
    assert all(n == 1 for n, _ in before.values())
    assert _rows(sync_db, "SELECT seq FROM change_counter") == seq_before
    replica = _rows(
        sync_db,
        "SELECT record_id FROM replica_records WHERE org_id = :org AND table_name = 'contacts'",
        org=org_id,
    )
    assert Counter(record_id for (record_id,) in replica) == dict.fromkeys(ids, 1)
    print(
        f"scale-out: {sum(n - 1 for n in deliveries.values())} second publications of {len(event_ids)} events"
    )
