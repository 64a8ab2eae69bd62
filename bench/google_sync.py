"""Google Contacts sync benchmark: 5,000 contacts each way against the sandbox's Google emulation.

Starts `crm run` on ``crm_bench`` (``bench.system``; the provider sandbox, Google's emulation
included, is one of its processes), then:

- CRM side: 5,000 contacts imported from a CSV file (each employed at one of 1,000 companies,
  so a company and a function travel too; the rows the import refuses are left out), waited for
  in sync's replica;
- Google side: 5,000 other people in the "SimpleCRM" group, made through Google's own client
  (the user's phone);
- baseline: ``GET /api/v1/me`` 300 times (an authenticated call doing one small RPC);
- the measurement: the admin connects Google; the first run makes the 5,000 Google people in the
  CRM and the 5,000 CRM contacts in Google (both ways, batches of 50). Contacts/s is the
  contacts moved over the run's own duration (started to finished); the CPU each process spent
  over the run is shown per contact, the emulation's ("sandbox") apart from ours;
- the replica catching up: the events of the contacts the run made in the CRM that sync's replica
  had not applied when the run ended (its CPU per contact of the first run, apart);
- then an incremental run after 500 changes on each side.

Target (issue 17): >= 200 contacts/s both ways.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bench.contacts_import import make_csv
from bench.cpu import CpuMeter, CpuRow, format_cpu_table
from bench.system import DATABASE, running_system
from providers.google_contacts import GoogleEndpoints, PeopleClient, authorization_url, exchange_code

COUNT = int(os.environ.get("BENCH_CONTACTS", "5000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "500"))
ACCOUNT = "bench.user@gmail.test"
CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-google-client-secret"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def _call(base: str, path: str, token: str | None, body: dict | None = None, method: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method or 'GET/POST'} {path}: {error.code} {error.read()[:500]!r}") from None
    return json.loads(raw) if raw else None


def _phone_clients(sandbox: str, count: int) -> list[PeopleClient]:
    endpoints = GoogleEndpoints.of_sandbox(sandbox)
    clients = []
    for n in range(count):
        url = authorization_url(endpoints, CLIENT_ID, "http://127.0.0.1/phone", f"p{n}", ACCOUNT)
        try:
            urllib.request.build_opener(NoRedirect).open(url, timeout=10)
        except urllib.error.HTTPError as redirect:
            location = redirect.headers["Location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        grant = exchange_code(endpoints, CLIENT_ID, CLIENT_SECRET, code, "http://127.0.0.1/phone")
        clients.append(PeopleClient(endpoints, CLIENT_ID, CLIENT_SECRET, grant.refresh_token))
    return clients


def _fill_google(clients: list[PeopleClient], count: int) -> list[dict]:
    group = clients[0].group("SimpleCRM")
    made: list[dict] = []
    lock = threading.Lock()

    def make(part: int) -> None:
        client = clients[part]
        for n in range(part, count, len(clients)):
            person = client.create(
                {
                    "names": [{"givenName": f"Gaspard{n}", "familyName": "Google"}],
                    "emailAddresses": [{"value": f"gaspard{n}@gmail.com", "type": "home"}],
                    "phoneNumbers": [{"value": f"+336{n:08d}", "type": "mobile"}],
                    "organizations": [{"name": f"Poire {n % 50}", "title": "Acheteur"}],
                    "memberships": [{"contactGroupMembership": {"contactGroupResourceName": group}}],
                }
            )
            with lock:
                made.append(person)

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(make, range(len(clients))))
    return made


def _replica_contacts(engine: Engine, org_id: str) -> int:
    """Contacts in sync's replica (0 while PostgreSQL has no connection to spare)."""
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT count(*) FROM sync.replica_records "
                    "WHERE org_id = :org AND table_name = 'contacts'"
                ),
                {"org": org_id},
            ).scalar()
    except OperationalError:
        return 0


def _wait_run(base: str, token: str, run_id: str) -> dict:
    while True:
        run = _call(base, f"/api/v1/sync/google/runs/{run_id}", token)
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.5)


def _seconds(run: dict) -> float:
    return (
        datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    ).total_seconds()


def _moved(run: dict) -> int:
    return sum(
        run["counts"][k]
        for k in ("created_in_crm", "updated_in_crm", "created_in_google", "updated_in_google")
    )


def main() -> None:
    # BENCH_POOL_SIZE: each process's database pool (a PostgreSQL shared with other work may have
    # few connections to spare).
    pool = {"database": {"pool_size": int(os.environ.get("BENCH_POOL_SIZE", "10"))}}
    with running_system("google_sync", settings=pool) as system:
        base, token = system.base_url, system.admin_token()
        sandbox = f"http://127.0.0.1:{system.settings['messaging']['sandbox_port']}"
        content = make_csv(COUNT, random.Random(11))
        job = _call(
            base,
            "/api/v1/imports",
            token,
            {"file_name": "crm.csv", "content_base64": base64.b64encode(content).decode()},
        )
        while job["status"] in ("queued", "running"):
            time.sleep(0.5)
            job = _call(base, f"/api/v1/imports/{job['id']}", token)
        engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1), pool_size=1)
        imported = job["rows_created"]
        while _replica_contacts(engine, system.org_id) < imported:
            time.sleep(0.5)
        phones = _phone_clients(sandbox, 4)
        google_people = _fill_google(phones, COUNT)
        print(f"seeded: {imported:,} CRM contacts ({job['status']}), {len(google_people):,} Google people")

        baseline = []
        for _ in range(300):
            started = time.perf_counter()
            _call(base, "/api/v1/me", token)
            baseline.append((time.perf_counter() - started) * 1000)
        baseline = baseline[50:]

        connect = _call(base, "/api/v1/sync/google/connection", token, {"login_hint": ACCOUNT})
        try:
            urllib.request.build_opener(NoRedirect).open(connect["authorization_url"], timeout=10)
        except urllib.error.HTTPError as redirect:
            callback = redirect.headers["Location"]
        with CpuMeter({system.pid}) as first_cpu:
            with urllib.request.urlopen(callback, timeout=60) as answer:
                run_id = json.load(answer)["run"]["id"]
            first = _wait_run(base, token, run_id)
        # The replica applies the events of the contacts the run made in the CRM, partly after it.
        caught_up_at = time.monotonic()
        with CpuMeter({system.pid}) as catch_up_cpu:
            while _replica_contacts(engine, system.org_id) < imported + first["counts"]["created_in_crm"]:
                time.sleep(0.2)
        catch_up_seconds = time.monotonic() - caught_up_at
        engine.dispose()

        # 500 changes on each side, then a run.
        changed = 0
        cursor = None
        while changed < CHANGES:
            page = _call(base, "/api/v1/contacts?limit=200" + (f"&cursor={cursor}" if cursor else ""), token)
            for contact in page["items"]:
                if changed >= CHANGES:
                    break
                _call(
                    base,
                    f"/api/v1/contacts/{contact['id']}",
                    token,
                    {"note": "Vu au salon 2027"},
                    method="PATCH",
                )
                changed += 1
            cursor = page["next_cursor"]
        for person in google_people[:CHANGES]:
            current = phones[0].get(person["resourceName"])
            phones[0].update(
                person["resourceName"],
                current["etag"],
                {"biographies": [{"value": "Rappeler en mars"}]},
                ["biographies"],
            )
        time.sleep(2)  # the CRM's events reach sync's replica
        with CpuMeter({system.pid}) as second_cpu:
            second = _wait_run(base, token, _call(base, "/api/v1/sync/google/runs", token, {})["id"])

        print(f"\nGoogle Contacts sync against the emulation, {COUNT:,} contacts each way, on PostgreSQL\n")
        print("| measurement | status | contacts moved | seconds | contacts/s |")
        print("|---|---|---:|---:|---:|")
        for name, run in (("first run (both ways)", first), (f"after {CHANGES} changes each side", second)):
            seconds, moved = _seconds(run), _moved(run)
            print(f"| {name} | {run['status']} | {moved:,} | {seconds:.1f} | {moved / seconds:,.0f} |")
        print(f"| the replica catching up after the first run | - | - | {catch_up_seconds:.1f} | - |")
        print(
            f"\nbaseline GET /api/v1/me: p50 {statistics.median(baseline):.1f} ms over {len(baseline)} calls"
        )
        print("first run counts:", first["counts"], "error:", first["error"])
        print("second run counts:", second["counts"], "error:", second["error"])
        print()
        print(
            format_cpu_table(
                [
                    CpuRow("first run", max(_moved(first), 1), first_cpu.seconds),
                    CpuRow("the replica catching up after it", max(_moved(first), 1), catch_up_cpu.seconds),
                    CpuRow("incremental run", max(_moved(second), 1), second_cpu.seconds),
                ],
                unit="contact",
            )
        )
        for name, meter in (("first", first_cpu), ("incremental", second_cpu)):
            ours = sum(s for label, s in meter.seconds.items() if label not in ("sandbox", "load generator"))
            emulation = meter.seconds.get("sandbox", 0.0)
            print(
                f"{name} run: the emulation (sandbox) spent {emulation:.1f} s of CPU, "
                f"the CRM's processes with RabbitMQ and PostgreSQL {ours:.1f} s"
            )


if __name__ == "__main__":
    main()
