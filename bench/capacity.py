"""Capacity: how many office and field staff one server carries, with a small business's mix (issue 20).

The load model and its proportions are in ``bench/capacity.md``. In one run:

1. ``crm run`` on ``crm_bench`` (``bench.system``) with the contacts service
   seeded before start (``contacts_search.seed``: ``BENCH_CONTACTS`` contacts,
   ``BENCH_COMPANIES`` companies); then the staff accounts made through the API
   (as many as the largest step), the interactions service's
   ``BENCH_INTERACTIONS`` interactions owned by them (``interactions_agenda.seed``)
   and sync's replica of the same size, the phones' scope
   (``sync_pull.seed_replica``), both with SQL; SMS credits, a code per office
   user, SendGrid as the e-mail provider (the sandbox answers and posts its
   callbacks), 50 e-mails whose events the provider stream posts, and each
   phone's first pull.
2. For each step of ``BENCH_STEPS`` users (default ``50 100 ... 400``): a locust
   process (``bench.capacity_load``) runs that many staff, with their scanners
   and provider callbacks, for ``BENCH_STEP_SECONDS`` (default 120) after they
   all started; around the measured window, CPU by process (``bench.cpu``), the
   provider events stored and the ingested mails processed, and at its end the
   memory of each process. Before the steps, 30 s with no load give each
   process's idle CPU. Stepping stops after two failing steps in a row.
3. The tables (a summary per step, each request kind per step, CPU per request
   above idle by process, share of a core by process), the capacity (the most
   users whose interactive requests keep p99 <= 300 ms with no error anywhere;
   smaller steps that failed are named), the memory at that step, the database size,
   and a chart of p99 against users (``BENCH_CHART``, default
   ``capacity-p99.png``). Target: >= 300 users.

``BENCH_PROCESSES`` (``gateway=2,contacts=2``) sets ``run.processes``;
``BENCH_POOL_SIZE`` (default 5) each process's database pool, as PostgreSQL
serves at most 100 connections.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, text

from bench import capacity_report as report
from bench import contacts_search, interactions_agenda, sync_pull
from bench.contacts_search import FIRST, LAST, TRADES
from bench.contacts_search import seed as seed_contacts
from bench.cpu import LOAD_GENERATOR, CpuMeter, CpuRow, format_cpu_table, resident_memory
from bench.smtp_ingest import _wait_for_address
from bench.sync_pull import _api, _login
from bench.system import DATABASE, BenchSystem, running_system

STEPS = [int(n) for n in os.environ.get("BENCH_STEPS", "50 100 150 200 250 300 350 400").split()]
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "120"))
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "5"))
PROCESSES = {
    name: int(count)
    for name, count in (item.split("=") for item in os.environ.get("BENCH_PROCESSES", "").split(",") if item)
}
CHART = os.environ.get("BENCH_CHART", "capacity-p99.png")
OFFICE_SHARE = 0.7  # as bench.capacity_load's (which this process must not import: gevent)


def _engine():
    return create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))


def _scalar(sql: str, **params: Any) -> Any:
    engine = _engine()
    with engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def make_staff(system: BenchSystem, admin_token: str, count: int) -> list[dict[str, Any]]:
    """``count`` accounts made by the admin, each logged in: id, token."""

    def one(n: int) -> dict[str, Any]:
        email = f"equipe{n}@pomme.fr"
        body = {"email": email, "name": f"Collègue {n}", "password": sync_pull.PASSWORD}
        made = _api(system, admin_token, "POST", "/api/v1/users", body)
        return {"id": made["id"], "token": _login(system, email)}

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def set_up(system: BenchSystem, rng: random.Random) -> dict[str, Any]:
    """Accounts, data, messaging and phones ready; the fixtures the load processes read."""
    admin = system.admin_token()
    _api(system, admin, "PATCH", "/api/v1/settings", {"multi_user_interactions": True})
    _api(system, admin, "POST", "/api/v1/sms/credits/purchases", {"credits": 10**7, "reference": "BENCH"})
    email_settings = {"provider": "sendgrid", "sender_email": "bench@pomme.fr"}
    _api(system, admin, "PUT", "/api/v1/emails/settings", email_settings)
    staff = make_staff(system, admin, max(STEPS))
    office_count = round(max(STEPS) * OFFICE_SHARE)
    office, field = staff[:office_count], staff[office_count:]
    print(f"{len(office)} office and {len(field)} field accounts made; seeding interactions ...", flush=True)
    started = time.perf_counter()
    interactions_agenda.seed(system.org_id, [user["id"] for user in staff])
    admin_id = _api(system, admin, "GET", "/api/v1/me")["id"]
    sync_pull.seed_replica(system.org_id, [admin_id, *(user["id"] for user in field)])
    print(f"interactions and replica seeded in {time.perf_counter() - started:.0f} s", flush=True)
    for user in office:
        code = _api(system, admin, "POST", "/api/v1/sms/authorization-codes", {"user_id": user["id"]})
        user["sms_code"] = code["code"]
        user["ingest_address"] = _api(system, user["token"], "GET", "/api/v1/me/secrets")["ingest_address"]
    _wait_for_address(system.settings["mailin"]["smtp_port"], office[-1]["ingest_address"])
    message_ids = [
        _api(
            system,
            admin,
            "POST",
            "/api/v1/emails",
            {"to": {"email": f"client{n}@exemple.fr"}, "subject": "Offre", "text": "Bonjour"},
        )["id"]
        for n in range(50)
    ]

    def first_pull(user: dict[str, Any]) -> None:
        user["device"] = f"phone-{user['id'][-8:]}"
        phone = sync_pull.Client(system, user["token"], user["device"])
        status, body, _ = phone.pull(None)
        if status != 200:
            raise SystemExit(f"first pull of {user['device']}: {status}")
        user["last_pulled_at"] = body["timestamp"]

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(first_pull, field))
    engine = _engine()
    with engine.connect() as connection:
        ids = {
            table: list(
                connection.execute(
                    text(f"SELECT id FROM contacts.{table} WHERE org_id = :org ORDER BY random() LIMIT 2000"),
                    {"org": system.org_id},
                ).scalars()
            )
            for table in ("contacts", "companies")
        }
    engine.dispose()
    return {
        "base_url": system.base_url,
        "smtp_port": system.settings["mailin"]["smtp_port"],
        "office": office,
        "field": field,
        "team": [user["id"] for user in staff],
        "contacts": ids["contacts"],
        "companies": ids["companies"],
        "contact_words": [*LAST, *(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(50))],
        "company_words": list(TRADES),
        "email_message_ids": message_ids,
    }


def run_step(system: BenchSystem, fixtures_path: str, users: int) -> dict[str, Any]:
    """One locust process of ``users`` staff; CPU, callbacks and mails counted over its measured window."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    arguments = [fixtures_path, str(users), str(STEP_SECONDS), out_path]
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.capacity_load", *arguments], stdout=subprocess.PIPE, text=True
    )
    roots = {system.pid, os.getpid()}
    callbacks_sql = "SELECT count(*) FROM messaging.provider_events"
    mails_sql = "SELECT count(*) FROM mailin.deliveries WHERE status = 'processed'"
    assert load.stdout is not None
    for line in load.stdout:
        if line.strip() == "measuring":
            break
    else:
        raise SystemExit(f"the load process of {users} users stopped before measuring")
    callbacks, mails = _scalar(callbacks_sql), _scalar(mails_sql)
    database = DATABASE.rsplit("/", 1)[1]
    with CpuMeter(roots, database) as meter:
        load.stdout.readline()  # "measured"
    step_callbacks, step_mails = _scalar(callbacks_sql) - callbacks, _scalar(mails_sql) - mails
    resident = resident_memory(roots, database)
    if load.wait() != 0:
        raise SystemExit(f"the load process of {users} users failed")
    with open(out_path) as handle:
        step = json.load(handle)
    os.unlink(out_path)
    _carry_on_pulls(fixtures_path, step.pop("last_pulled_at"))
    step.update(
        cpu=_named(meter.seconds), resident=_named(resident), callbacks=step_callbacks, mails=step_mails
    )
    return step


def _carry_on_pulls(fixtures_path: str, last_pulled_at: dict[str, int]) -> None:
    """The next step's phones pull from where this step's left off, as phones that kept
    syncing would: from the setup's first pull, each step's first pulls carried every change
    of the steps before it (a day offline), more with every step."""
    with open(fixtures_path) as handle:
        fixtures = json.load(handle)
    for phone in fixtures["field"]:
        phone["last_pulled_at"] = last_pulled_at.get(phone["id"], phone["last_pulled_at"])
    with open(fixtures_path, "w") as handle:
        json.dump(fixtures, handle)


def measure_idle(system: BenchSystem, seconds: float = 30.0) -> dict[str, Any]:
    """CPU by process with no load: what the services spend on their own (timers, polling, heartbeats)."""
    time.sleep(10)  # the setup's own work (first pulls, events) settles
    with CpuMeter({system.pid, os.getpid()}, DATABASE.rsplit("/", 1)[1]) as meter:
        time.sleep(seconds)
    return {"users": 0, "seconds": seconds, "cpu": _named(meter.seconds)}


def _named(by_label: dict[str, Any]) -> dict[str, Any]:
    """The locust process is the load generator; this one only counts between steps."""
    names = {LOAD_GENERATOR: "bench.capacity (counting)", "capacity_load": "load generator (locust)"}
    return {names.get(label, label): value for label, value in by_label.items()}


def database_size(org_id: str) -> str:
    sizes = _scalar(
        "SELECT json_object_agg(schemaname, bytes) FROM (SELECT schemaname, "
        "sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))) AS bytes "
        "FROM pg_tables WHERE schemaname = ANY(:schemas) GROUP BY schemaname) AS s",
        schemas=["contacts", "interactions", "sync", "messaging", "mailin", "accounts", "notifier"],
    )
    total = _scalar("SELECT pg_database_size(current_database())")
    by_schema = ", ".join(f"{k} {v / 2**20:,.0f}" for k, v in sorted(sizes.items(), key=lambda i: -i[1]))
    return f"database {total / 2**20:,.0f} MB ({by_schema} MB)"


def main() -> None:
    rng = random.Random(20261207)
    settings = {
        "auth": {"access_token_ttl_seconds": 86400},  # a client would refresh; not part of the model
        "database": {"pool_size": POOL_SIZE},
        "run": {"processes": PROCESSES},
    }
    with running_system("capacity", lambda org_id: seed_contacts(org_id, rng), settings) as system:
        fixtures = set_up(system, rng)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(fixtures, handle)
            fixtures_path = handle.name
        idle = measure_idle(system)
        steps: list[dict[str, Any]] = []
        for users in STEPS:
            print(f"step: {users} users ...", flush=True)
            steps.append(run_step(system, fixtures_path, users))
            print(report.summary_table(steps[-1:]).splitlines()[-1], flush=True)
            if len(steps) >= 2 and not report.passes(steps[-1]) and not report.passes(steps[-2]):
                break
        os.unlink(fixtures_path)
        size = database_size(system.org_id)
    print_report(steps, idle, size)


def print_report(steps: list[dict[str, Any]], idle: dict[str, Any], size: str) -> None:
    processes = ", ".join(f"{n} x{c}" for n, c in PROCESSES.items()) or "one process per service"
    print(
        f"\nCapacity on {os.cpu_count()} cores ({processes}): "
        f"{interactions_agenda.INTERACTIONS:,} interactions, "
        f"{contacts_search.CONTACTS:,} contacts, {contacts_search.COMPANIES:,} companies; "
        f"{STEP_SECONDS:.0f} s measured per step\n"
    )
    print(report.summary_table(steps))
    print()
    print(report.kinds_table(steps))
    print()
    cpu_rows = [
        CpuRow(
            f"{step['users']} users",
            sum(kind["requests"] for kind in step["kinds"]),
            report.above_idle(step, idle),
        )
        for step in steps
    ]
    print(format_cpu_table(cpu_rows, unit="request (all kinds) above idle"))
    print(f"\nshare of one core by process (idle: {idle['seconds']:.0f} s with no load before the steps)\n")
    print(report.cores_table([idle, *steps]))
    best = report.capacity(steps)
    print(
        f"\ncapacity: {best['users'] if best else 0} concurrent users "
        f"(interactive p99 <= {report.P99_TARGET_MS:.0f} ms, no errors); target >= 300"
    )
    failed = report.failed_below(steps, best["users"]) if best else []
    if failed:
        print(f"but smaller steps failed: {failed} users (noise? run again)")
    for step in steps:
        for error in step["errors"][:5]:
            print(f"{step['users']} users: {error['occurrences']} x {error['name']}: {error['error']}")
    if best:
        print(f"\nmemory at {best['users']} users\n")
        print(report.memory_table(best["resident"]))
    print(f"\n{size}")
    report.chart(steps, CHART)
    print(f"chart: {CHART}")


if __name__ == "__main__":
    main()
