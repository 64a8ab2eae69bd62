"""Calendar feed benchmark: the iCal feed of a user with 2,000 interactions in its window, on
PostgreSQL, through the gateway (``GET /calendar/<token>.ics``, no login).

Starts `crm run` on ``crm_bench`` (``bench.system``), sets the bench admin's time zone to
Paris through the API, then fills sync's replica as the change feed would have (the same
``records.*_raw`` functions, bulk inserted): 20 colleagues, 200 companies, 2,000 interactions
of the admin in the window (1,800 owned, 200 of colleagues they are invited to; one in ten all
day, one in fifteen cancelled, up to three participants each, invited, confirmed or refused;
four in ten at a company; descriptions with commas, semicolons and line breaks) and 10,000
interactions of the colleagues that are not in the admin's feed; the tables are not analysed
(``BENCH_ANALYSE=1`` analyses them), as on a server with autovacuum off. Then, in one run:

- baseline: ``GET /api/v1/me`` (an authenticated call doing one small RPC), c=1 and 4;
- the feed unchanged, without ``If-None-Match`` (a 200 of about 1.3 MB), c=1 and 4;
- the feed unchanged, with its ETag (304), c=1 and 4;
- 304 after a change elsewhere in the organisation (a colleague's interaction; the feed's ETag
  is read again, its body is not), c=1;
- 200 after one of the admin's interactions changed (one event written again), c=1;
- 200 after the admin's time zone changed (every event written again), c=1, few requests;
- the first request after start (nothing kept), one sample.

Changes are applied to the replica by the bench process with sync's own ``feed`` functions
(what sync's event handlers do), before each timed request. ``BENCH_REQUESTS`` (default 300)
caps the requests of a row, ``BENCH_SECONDS`` (default 20) its duration (a slow row takes
fewer). Target (issue 17): p95 <= 100 ms for the feed, 304 <= 10 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bench.contacts_search import _table
from bench.cpu import CpuMeter, CpuRow, format_cpu_table
from bench.http_client import get_caller, send_caller
from bench.loadgen import Result, closed_loop
from bench.system import DATABASE, BenchSystem, running_system
from crm.database import create_service_engine
from crm.settings import Settings
from services.sync import feed
from services.sync import records as r
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
# The replica's tables are left unanalysed, as on a server with autovacuum off (CI's, this
# machine's); BENCH_ANALYSE=1 analyses them after seeding.
ANALYSE = os.environ.get("BENCH_ANALYSE") == "1"
# PostgreSQL's backends serving other databases (other tests on a shared machine) are not counted.
DATABASE_NAME = DATABASE.rsplit("/", 1)[1]
MINE, INVITED, OTHERS, COLLEAGUES, COMPANIES = 1_800, 200, 10_000, 20, 200
PARIS = "Europe/Paris"


def _colleague(n: int) -> str:
    return f"0192f5a0-0000-7000-8000-{n:012d}"


def _events(admin_id: str, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the admin's 2,000 interactions, the colleagues' 10,000) as interaction events carry them."""
    rng = random.Random(17)
    description = "Apporter le catalogue; voir la vitrine, les éclairs\net les croissants aux amandes"

    def interaction(n: int, owner: str, people: list[tuple[str, str]], mine: bool) -> dict[str, Any]:
        start = now - timedelta(days=85) + timedelta(hours=rng.randrange(24 * 440))
        start = start.replace(minute=30 * (n % 2), second=0, microsecond=0)
        all_day = mine and n % 10 == 0
        if all_day:
            start = start.replace(hour=0, minute=0)
        end = start + (timedelta(days=n % 3) if all_day else timedelta(minutes=30 + 30 * (n % 4)))
        invited_at = (now - timedelta(days=100)).isoformat()
        return {
            "id": f"in-{n:06d}",
            "subject": f"Visite n°{n} chez Boulangerie Dupont — dégustation des nouveautés" + " ." * (n % 5),
            "type": rng.choice(["meeting", "call", "visit"]),
            "status": "cancelled" if n % 15 == 0 else "planned",
            "start_at": start.isoformat(),
            "end_at": end.isoformat() if n % 7 else None,
            "all_day": all_day,
            "owner_id": owner,
            "description": description if n % 3 == 0 else None,
            "contact_ids": [],
            "company_ids": [f"co-{n % COMPANIES}"] if n % 5 < 2 else [],
            "participants": [
                {
                    "user_id": user_id,
                    "status": status,
                    "invited_at": invited_at,
                    "responded_at": None if status == "invited" else (now - timedelta(days=99)).isoformat(),
                }
                for user_id, status in people
            ],
            "version": 1 + n % 4,
            "created_at": (now - timedelta(days=100)).isoformat(),
            "updated_at": (now - timedelta(days=90)).isoformat(),
        }

    statuses = ("invited", "confirmed", "refused")
    mine = []
    for n in range(MINE + INVITED):
        colleagues = [_colleague(c) for c in rng.sample(range(COLLEAGUES), rng.randrange(4))]
        people = [(c, rng.choice(statuses)) for c in colleagues]
        if n < MINE:
            mine.append(interaction(n, admin_id, people, True))
        else:  # a colleague's, the admin invited (and not refusing)
            owner = _colleague(n % COLLEAGUES)
            people = [(c, s) for c, s in people if c != owner]
            mine.append(interaction(n, owner, [*people, (admin_id, statuses[n % 2])], True))
    others = [interaction(n, _colleague(n % COLLEAGUES), [], False) for n in range(20_000, 20_000 + OTHERS)]
    return mine, others


def seed(engine: Any, org_id: str, interactions: list[dict[str, Any]], analyse: bool = ANALYSE) -> float:
    """The replica's rows for ``interactions`` and their people, companies and types, each with
    the next change sequence (as the feed would have stored them one by one); the tables are
    analysed after when ``analyse``."""
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []

    def record(table: str, raw: dict[str, Any], version: int) -> None:
        row = {"table_name": table, "record_id": raw["id"], "version": version, "deleted": False}
        stored = json.dumps(raw, separators=(",", ":"), sort_keys=True)
        records.append({**row, "org_id": org_id, "seq": len(records) + 1, "raw": stored})

    created = "2026-01-01T08:00:00+00:00"
    for n in range(COLLEAGUES):
        user = {"id": _colleague(n), "name": f"Collègue {n} Dupré", "time_zone": PARIS, "created_at": created}
        record(r.USERS, r.user_raw(user), 1)
    for key, name in (("meeting", "Rendez-vous"), ("call", "Appel"), ("visit", "Visite")):
        record(r.INTERACTION_TYPES, r.interaction_type_raw({"key": key, "name": name, "statuses": []}), 1)
    for k in range(COMPANIES):
        address = {"street": f"{k}, rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}
        company = {"id": f"co-{k}", "name": f"Boulangerie {k}", "address": address, "version": 1}
        record(r.COMPANIES, r.company_raw(company), 1)
    for event in interactions:
        record(r.INTERACTIONS, r.interaction_raw(event), event["version"])
        key = {"org_id": org_id, "from_table": r.INTERACTIONS, "from_id": event["id"]}
        for company_id in event["company_ids"]:
            links.append({**key, "to_table": r.COMPANIES, "to_id": company_id})
        start_at = datetime.fromisoformat(event["start_at"])
        attending = {event["owner_id"]}
        for participant in event["participants"]:
            raw = r.participant_raw(event["id"], participant)
            record(r.PARTICIPANTS, raw, raw["updated_at"])
            links.append({**key, "to_table": r.PARTICIPANTS, "to_id": raw["id"]})
            if participant["status"] != r.REFUSED:
                attending.add(participant["user_id"])
        people += [
            {"interaction_id": event["id"], "user_id": u, "org_id": org_id, "start_at": start_at}
            for u in attending
        ]
    with Session(engine) as session:
        # The sequences taken under the counter's lock, as the feed takes them.
        last = session.execute(
            text("UPDATE change_counter SET seq = seq + :n WHERE id = 1 RETURNING seq"), {"n": len(records)}
        ).scalar_one()
        for row in records:
            row["seq"] += last - len(records)
        for model, rows in ((ReplicaRecord, records), (ReplicaLink, links), (InteractionPerson, people)):
            for start in range(0, len(rows), 5_000):
                session.execute(insert(model), rows[start : start + 5_000])
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("replica_records", "replica_links", "interaction_people") if analyse else ():
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    return time.perf_counter() - started


class Replica:
    """Changes to sync's replica as its event handlers make them (``feed`` functions)."""

    def __init__(self, engine: Any, org_id: str):
        self.engine, self.org_id = engine, org_id
        self.versions: dict[str, int] = {}

    def apply(self, change: Callable[[feed.Feed], Any]) -> None:
        with Session(self.engine) as session:
            change(feed.Feed(session, self.org_id))
            session.commit()

    def edit(self, event: dict[str, Any]) -> None:
        version = self.versions.get(event["id"], event["version"]) + 1
        self.versions[event["id"]] = version
        subject = f"{event['subject']} (v{version})"
        self.apply(lambda f: feed.apply_interaction(f, {**event, "subject": subject, "version": version}))


def _get(system: BenchSystem, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", system.port, timeout=120)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, response.headers  # read without regard to case


def _api(system: BenchSystem, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{system.base_url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _first(call: Callable[[], Any], seconds: float = 60) -> Any:
    """``call()`` once the services answer (a 503 while one is still starting)."""
    deadline = time.time() + seconds
    while True:
        try:
            return call()
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.time() > deadline:
                raise
            time.sleep(0.5)


def _until_shown(system: BenchSystem, path: str, wanted: bytes) -> None:
    deadline = time.time() + 60
    while wanted not in _get(system, path)[1]:
        if time.time() > deadline:
            raise SystemExit(f"the feed never showed {wanted!r}")
        time.sleep(0.5)


def _row(name: str, make_caller: Callable[[], Callable[[], bool]], concurrency: int) -> Result:
    """At most ``REQUESTS``, and about ``SECONDS`` however slow a request is."""
    probe = make_caller()
    started = time.perf_counter()
    for _ in range(3):
        probe()
    each = (time.perf_counter() - started) / 3
    requests = max(4 * concurrency, min(REQUESTS, int(SECONDS * concurrency / max(each, 1e-4))))
    return closed_loop(name, make_caller, concurrency, requests, warmup=min(20, requests))


def _after_each(
    name: str, change: Callable[[int], None], call: Callable[[], bool], requests: int, meter: CpuMeter
) -> Result:
    """One request after each change, timed alone (the change is not); ``meter`` measures the
    requests' CPU only (it is paused while the bench process changes the replica)."""
    latencies, errors = [], 0
    started = time.perf_counter()
    for n in range(requests):
        meter.pause()
        change(n)
        meter.resume()
        began = time.perf_counter()
        errors += not call()
        latencies.append((time.perf_counter() - began) * 1000)
    return Result(name, 1, requests, time.perf_counter() - started, latencies, errors)


def main() -> None:
    eventlet.monkey_patch()
    now = datetime.now(UTC)
    with running_system("calendar_feed") as system:
        token = system.admin_token()
        auth = {"Authorization": f"Bearer {token}"}
        admin = _first(lambda: _api(system, "GET", "/api/v1/me", auth))
        _api(system, "PATCH", "/api/v1/me", auth, {"time_zone": PARIS})
        feed_path = (
            f"/calendar/{_api(system, 'POST', '/api/v1/me/secrets/calendar_feed/rotate', auth)['value']}.ics"
        )
        settings = Settings.model_validate(
            {"data_dir": system.settings["data_dir"], "database": {"url": DATABASE}}
        )
        engine = create_service_engine(settings, "sync")
        _until_shown(system, feed_path, f"X-WR-TIMEZONE:{PARIS}".encode())  # sync heard of the new zone
        mine, others = _events(admin["id"], now)
        print(f"seeding the replica ({len(mine):,} + {len(others):,} interactions) ...", flush=True)
        print(f"seeded in {seed(engine, system.org_id, mine + others):.0f} s", flush=True)
        replica = Replica(engine, system.org_id)
        began = time.perf_counter()
        status, body, headers = _get(system, feed_path)
        first_ms = (time.perf_counter() - began) * 1000
        events = body.count(b"BEGIN:VEVENT")
        if status != 200 or events != len(mine):
            raise SystemExit(f"the feed answered {status} with {events} events: {body[:300]!r}")
        etag = headers["ETag"]
        print(f"feed: {events:,} events, {len(body) / 1e6:.2f} MB; first request {first_ms:.0f} ms")

        rows: list[Result] = []
        cpu_rows: list[CpuRow] = []

        def measured(name: str, path: str, headers: dict[str, str], concurrency: int, ok: int = 200) -> None:
            def make_caller() -> Callable[[], bool]:
                if ok == 304:
                    return send_caller(
                        "127.0.0.1", system.port, lambda: ("GET", path, None), headers, ok=(304,)
                    )
                return get_caller("127.0.0.1", system.port, path, headers)

            with CpuMeter({system.pid}, DATABASE_NAME) as meter:
                result = _row(name, make_caller, concurrency)
            rows.append(result)
            if concurrency == 1:
                cpu_rows.append(CpuRow(name, result.requests + min(20, result.requests) + 3, meter.seconds))

        for concurrency in (1, 4):
            measured("GET /api/v1/me (baseline)", "/api/v1/me", auth, concurrency)
            measured("feed unchanged, 200", feed_path, {}, concurrency)
            measured("feed unchanged, 304", feed_path, {"If-None-Match": etag}, concurrency, ok=304)

        def asking(expected: int, tag: Callable[[], str | None]) -> Callable[[], bool]:
            def call() -> bool:
                status, _, headers = _get(system, feed_path, {"If-None-Match": tag()} if tag() else {})
                latest[0] = headers.get("ETag", latest[0])
                return status == expected

            return call

        def after_each(name: str, change: Callable[[int], None], call: Callable[[], bool], n: int) -> None:
            with CpuMeter({system.pid}, DATABASE_NAME) as meter:
                result = _after_each(name, change, call, n, meter)
            rows.append(result)
            cpu_rows.append(CpuRow(name, result.requests, meter.seconds))

        latest = [etag]
        after_each(
            "304 after a change elsewhere in the organisation",
            lambda n: replica.edit(others[n % len(others)]),
            asking(304, lambda: latest[0]),
            min(REQUESTS, 100),
        )
        after_each(
            "200 after one of the user's interactions changed",
            lambda n: replica.edit(mine[(n * 37) % len(mine)]),
            asking(200, lambda: latest[0]),
            min(REQUESTS, 100),
        )
        # A zone not seen before each time: every event is written again.
        zones = ("Europe/Brussels", "Europe/Madrid", "Europe/Berlin", "Europe/Rome", "Europe/Vienna", PARIS)

        def new_zone(n: int) -> None:
            user = {"id": admin["id"], "name": admin["name"], "time_zone": zones[n], "version": 1_000 + n}
            replica.apply(lambda f: feed.apply_user(f, {**user, "created_at": now.isoformat()}))

        after_each("200 after the user's time zone changed", new_zone, asking(200, lambda: None), 6)
        rows.append(Result("first request after start (nothing kept)", 1, 1, first_ms / 1000, [first_ms], 0))
        engine.dispose()
        print(
            f"\nCalendar feed on PostgreSQL: {events:,} events ({len(body) / 1e6:.2f} MB) of "
            f"{len(mine) + len(others):,} interactions in the replica\n"
        )
        print(_table(rows))
        print()
        print(format_cpu_table(cpu_rows))


if __name__ == "__main__":
    main()
