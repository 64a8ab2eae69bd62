"""Mobile sync benchmark: pulls over a large replica, on PostgreSQL, through the gateway.

Starts `crm run` on ``crm_bench`` (``bench.system``), makes 50 field users, then
fills sync's replica with SQL as the change feed would have: 100,000 contacts
(one employment each), 30,000 companies and 1,000,000 interactions linked to a
contact and a company, owned by the 51 users over ten years around today. The
bench admin owns 3,500 of them in the scope window, so the scope of their phone
is about 10,000 records (interactions, 2,500 contacts, 1,200 companies, their
2,500 employments, notes, users, types). Then, in one run:

- baseline: ``GET /api/v1/me`` (an authenticated call doing one small RPC);
- first pull of the admin's 10,000-record scope (``last_pulled_at`` null, the
  user's scope history emptied before each, as on a new login), 5 times;
- incremental pull after 100 changed records in the scope, 50 times;
- 1,000 devices (20 per field user) pulling every 30 s in turn (about 33
  pulls/s, open loop) for ``BENCH_SECONDS`` (default 60) while a web user edits
  a contact every second through the API; p50/p95/p99 and CPU per pull by process.

Targets (issue 16): first pull <= 1 s, incremental p95 <= 50 ms, 1,000 devices p99 <= 200 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, text

from bench.cpu import CpuMeter, CpuRow, format_cpu_table
from bench.gateway_me import PASSWORD
from bench.system import DATABASE, BenchSystem, running_system

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "100000"))
COMPANIES = int(os.environ.get("BENCH_COMPANIES", "30000"))
INTERACTIONS = int(os.environ.get("BENCH_INTERACTIONS", "1000000"))
FIELD_USERS = 50
DEVICES_PER_USER = 20
PULL_EVERY_SECONDS = 30.0
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
# The admin's own block: interactions in the scope window, over these contacts and companies.
MINE, MY_CONTACTS, MY_COMPANIES, MY_NOTES = 3_500, 2_500, 1_200, 250


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Client:
    """One keep-alive connection to the gateway, as one phone or one browser."""

    def __init__(self, system: BenchSystem, token: str, device: str | None = None):
        self.port = system.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if device:
            self.headers["X-Device-Id"] = device
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        try:
            self.connection.request(
                method, path, body=None if body is None else json.dumps(body), headers=self.headers
            )
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 599, b"", (time.perf_counter() - started) * 1000
        return response.status, data, (time.perf_counter() - started) * 1000

    def pull(self, last: int | None) -> tuple[int, dict[str, Any], float]:
        query = "null" if last is None else str(last)
        status, data, ms = self.call("GET", f"/api/v1/sync/pull?last_pulled_at={query}")
        return status, (json.loads(data) if status == 200 else {}), ms


def _api(system: BenchSystem, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{system.base_url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _login(system: BenchSystem, email: str) -> str:
    request = urllib.request.Request(
        f"{system.base_url}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access_token"]


def make_users(system: BenchSystem, admin_token: str) -> list[tuple[str, str]]:
    """(user id, access token) of the admin first, then of the field users."""
    me = _api(system, admin_token, "GET", "/api/v1/me")
    users = [(me["id"], admin_token)]
    for n in range(FIELD_USERS):
        email = f"terrain{n}@pomme.fr"
        body = {"email": email, "name": f"Technicien {n}", "password": PASSWORD}
        created = _api(system, admin_token, "POST", "/api/v1/users", body)
        users.append((created["id"], _login(system, email)))
    return users


SEED = """
CREATE TEMP TABLE bench_users (n int PRIMARY KEY, id text);
INSERT INTO bench_users
SELECT ordinality - 1, id FROM unnest(CAST(:users AS text[])) WITH ORDINALITY AS u(id);

INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'companies', 'co-' || k, k, 1, false, json_build_object(
  'id', 'co-' || k, 'name', 'Entreprise ' || k, 'group_name', NULL, 'street', k || ' rue de la Paix',
  'postal_code', '75002', 'city', 'Paris', 'country', 'France', 'latitude', 48.86, 'longitude', 2.33,
  'phone', '01 42 68 53 00', 'email', 'contact' || k || '@exemple.fr', 'website', NULL, 'notes', NULL,
  'tags', '[]', 'version', 1, 'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :companies) AS k;

INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'contacts', 'ct-' || c, :companies + c, 1, false, json_build_object(
  'id', 'ct-' || c, 'first_name', 'Jeanne', 'last_name', 'Dupont ' || c, 'phone', NULL,
  'mobile', '06 12 34 56 78', 'email', 'jeanne' || c || '@exemple.fr', 'street', NULL,
  'postal_code', NULL, 'city', 'Lyon', 'country', NULL, 'latitude', NULL, 'longitude', NULL,
  'note', NULL, 'birthday', NULL, 'website', NULL, 'version', 1,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :contacts) AS c;

-- One employment per contact: the admin's contacts at the admin's companies.
CREATE TEMP TABLE bench_jobs AS
SELECT c, CASE WHEN c <= :my_contacts THEN 1 + c % :my_companies ELSE 1 + c % :companies END AS k
FROM generate_series(1, :contacts) AS c;
INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'employments', 'em-' || c, :companies + :contacts + c, 1, false, json_build_object(
  'id', 'em-' || c, 'contact_id', 'ct-' || c, 'company_id', 'co-' || k, 'function', 'Gérante',
  'phone', NULL, 'mobile', NULL, 'email', NULL, 'start_date', '2024-01-01', 'end_date', NULL,
  'is_current', true, 'version', 1, 'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM bench_jobs;
INSERT INTO sync.replica_links (org_id, from_table, from_id, to_table, to_id)
SELECT :org, 'contacts', 'ct-' || c, 'employments', 'em-' || c FROM bench_jobs
UNION ALL
SELECT :org, 'companies', 'co-' || k, 'employments', 'em-' || c FROM bench_jobs;

-- Interactions: the admin's block inside the window, the rest over ten years around today.
CREATE TEMP TABLE bench_visits AS
SELECT i,
  CASE WHEN i <= :mine THEN 0 ELSE 1 + i % :field_users END AS owner,
  CASE WHEN i <= :mine THEN now() - interval '85 days' + (i % 110) * interval '1 day'
       ELSE now() - interval '1825 days' + ((i::bigint * 7919) % 3650) * interval '1 day' END AS start_at,
  CASE WHEN i <= :mine THEN 1 + i % :my_contacts ELSE 1 + i % :contacts END AS c,
  CASE WHEN i <= :mine THEN 1 + i % :my_companies ELSE 1 + i % :companies END AS k
FROM generate_series(1, :interactions) AS i;
INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'interactions', 'in-' || i, :companies + 2 * :contacts + i, 1, false, json_build_object(
  'id', 'in-' || i, 'subject', 'Rendez-vous ' || i, 'type', 'meeting', 'status', 'planned',
  'start_at', (extract(epoch FROM start_at) * 1000)::bigint,
  'end_at', (extract(epoch FROM start_at) * 1000)::bigint + 3600000, 'all_day', false,
  'owner_id', u.id, 'project_id', NULL, 'description', NULL,
  'contact_ids', '["ct-' || c || '"]', 'company_ids', '["co-' || k || '"]',
  'budget_amount', NULL, 'budget_currency', NULL, 'version', 1,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM bench_visits JOIN bench_users AS u ON u.n = owner;
INSERT INTO sync.interaction_people (interaction_id, user_id, org_id, start_at)
SELECT 'in-' || i, u.id, :org, start_at FROM bench_visits JOIN bench_users AS u ON u.n = owner;
INSERT INTO sync.replica_links (org_id, from_table, from_id, to_table, to_id)
SELECT :org, 'interactions', 'in-' || i, 'contacts', 'ct-' || c FROM bench_visits
UNION ALL
SELECT :org, 'interactions', 'in-' || i, 'companies', 'co-' || k FROM bench_visits;

INSERT INTO sync.replica_records (org_id, table_name, record_id, seq, version, deleted, raw)
SELECT :org, 'notes', 'no-' || i, :companies + 2 * :contacts + :interactions + i, 1, false, json_build_object(
  'id', 'no-' || i, 'interaction_id', 'in-' || i, 'text', 'Client ravi, rappeler en mars.',
  'author_id', NULL, 'stamp', 'Alice Martin, 6 déc. 2026 10:00', 'written_at', 1767225600000,
  'created_at', 1767225600000, 'updated_at', 1767225600000)::text
FROM generate_series(1, :my_notes) AS i;
INSERT INTO sync.replica_links (org_id, from_table, from_id, to_table, to_id)
SELECT :org, 'interactions', 'in-' || i, 'notes', 'no-' || i FROM generate_series(1, :my_notes) AS i;

UPDATE sync.change_counter SET seq = (SELECT max(seq) FROM sync.replica_records) WHERE id = 1;
"""


def seed_replica(org_id: str, user_ids: list[str]) -> float:
    """The replica as the change feed would have made it; ``user_ids``: the admin, then the field users."""
    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
    started = time.perf_counter()
    params = {
        "org": org_id,
        "users": user_ids,
        "companies": COMPANIES,
        "contacts": CONTACTS,
        "interactions": INTERACTIONS,
        "field_users": len(user_ids) - 1,
        "mine": MINE,
        "my_contacts": MY_CONTACTS,
        "my_companies": MY_COMPANIES,
        "my_notes": MY_NOTES,
    }
    with engine.begin() as connection:
        for statement in SEED.split(";\n"):
            if statement.strip():
                connection.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    # Settled as a database that has run a while (autovacuum would otherwise run during the measurements).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("replica_records", "replica_links", "interaction_people", "touches", "scope_members"):
            connection.execute(text(f"VACUUM ANALYZE sync.{table}"))
    engine.dispose()
    return time.perf_counter() - started


def change_records(org_id: str, count: int, offset: int) -> None:
    """``count`` of the admin's contacts changed, as contact_updated events would change them."""
    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as connection:
        seq = connection.execute(
            text("UPDATE sync.change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        ).scalar()
        ids = [f"ct-{1 + (offset + n) % MY_CONTACTS}" for n in range(count)]
        connection.execute(
            text(
                "UPDATE sync.replica_records SET seq = :seq, raw = replace(raw, '\"Lyon\"', '\"Lyon \"') "
                "WHERE org_id = :org AND table_name = 'contacts' AND record_id = ANY(:ids)"
            ),
            {"seq": seq, "org": org_id, "ids": ids},
        )
    engine.dispose()


def forget_scope(user_id: str) -> None:
    """As on a new login: nothing held, nothing computed."""
    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM sync.scope_members WHERE user_id = :u"), {"u": user_id})
        connection.execute(text("DELETE FROM sync.scope_states WHERE user_id = :u"), {"u": user_id})
    engine.dispose()


def _row(name: str, latencies: list[float], extra: str = "") -> str:
    return (
        f"| {name} | {len(latencies)} | {statistics.median(latencies):.1f} "
        f"| {_percentile(latencies, 95):.1f} | {_percentile(latencies, 99):.1f} "
        f"| {max(latencies):.1f} | {extra} |"
    )


def main() -> None:
    with running_system("sync") as system:
        admin_token = system.admin_token()
        users = make_users(system, admin_token)
        print(f"seeding the replica ({INTERACTIONS:,} interactions) ...", flush=True)
        seconds = seed_replica(system.org_id, [user_id for user_id, _ in users])
        print(f"seeded in {seconds:.0f} s", flush=True)
        admin_id = users[0][0]
        rows = []

        browser = Client(system, admin_token)
        baseline = [browser.call("GET", "/api/v1/me")[2] for _ in range(300)][50:]
        rows.append(_row("baseline GET /api/v1/me", baseline))

        phone = Client(system, admin_token, "bench-admin-phone")
        firsts, sizes = [], []
        for _ in range(5):
            forget_scope(admin_id)
            status, body, ms = phone.pull(None)
            assert status == 200, status
            firsts.append(ms)
            sizes.append(sum(len(t["created"]) for t in body["changes"].values()))
        last = body["timestamp"]
        rows.append(_row("first pull, whole scope", firsts, f"{sizes[-1]:,} records"))

        incremental, counts = [], []
        for n in range(50):
            change_records(system.org_id, 100, n * 100)
            status, body, ms = phone.pull(last)
            assert status == 200, status
            last = body["timestamp"]
            incremental.append(ms)
            counts.append(sum(len(t["updated"]) for t in body["changes"].values()))
        rows.append(
            _row("incremental pull, 100 changes", incremental, f"{min(counts)}-{max(counts)} records")
        )

        fleet = [
            (Client(system, token, f"phone-{user_id[-6:]}-{d}"), [None])
            for user_id, token in users[1:]
            for d in range(DEVICES_PER_USER)
        ]
        print(f"first pulls of {len(fleet)} devices ...", flush=True)
        with ThreadPoolExecutor(8) as pool:
            for (_client, state), (_, body, _) in zip(
                fleet, pool.map(lambda f: f[0].pull(None), fleet), strict=True
            ):
                state[0] = body["timestamp"]
        latencies, errors, cpu = run_fleet(system, fleet, admin_token)
        pulls = len(latencies)
        rows.append(
            _row(
                f"{len(fleet)} devices every {PULL_EVERY_SECONDS:g} s + web edits",
                latencies,
                f"{pulls / SECONDS:.1f} pulls/s, {errors} errors",
            )
        )
        print("\n| measurement | n | p50 ms | p95 ms | p99 ms | max ms | |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for row in rows:
            print(row)
        base = statistics.median(baseline)
        print(
            f"\nratios to the baseline's p50 ({base:.1f} ms): "
            f"first pull p50 x{statistics.median(firsts) / base:.0f}, "
            f"incremental p95 x{_percentile(incremental, 95) / base:.1f}, "
            f"fleet p99 x{_percentile(latencies, 99) / base:.1f}"
        )
        print()
        print(format_cpu_table([CpuRow("fleet pulls (with the web edits)", pulls, cpu)], unit="pull"))


def run_fleet(
    system: BenchSystem, fleet: list[tuple[Client, list[int | None]]], admin_token: str
) -> tuple[list[float], int, dict[str, float]]:
    """Open loop: one pull every PULL_EVERY_SECONDS / devices, device after device, for SECONDS."""
    interval = PULL_EVERY_SECONDS / len(fleet)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    idle: list[tuple[Client, list[int | None]]] = list(fleet)
    stop = threading.Event()

    edited = _api(system, admin_token, "POST", "/api/v1/contacts", {"first_name": "Web"})["id"]

    def edits() -> None:
        editor = Client(system, admin_token)
        n = 0
        while not stop.is_set():
            n += 1
            editor.call("PATCH", f"/api/v1/contacts/{edited}", {"note": f"Appel {n}"})
            stop.wait(1.0)

    def one(device: tuple[Client, list[int | None]]) -> None:
        client, state = device
        status, body, ms = client.pull(state[0])
        with lock:
            if status == 200:
                state[0] = body["timestamp"]
                latencies.append(ms)
            else:
                errors[0] += 1
            idle.append(device)

    editor = threading.Thread(target=edits, daemon=True)
    editor.start()
    with CpuMeter({system.pid}) as meter, ThreadPoolExecutor(64) as pool:
        started = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - started < SECONDS:
            due = started + n * interval
            if now < due:
                time.sleep(due - now)
            with lock:
                device = idle.pop(0) if idle else None
            if device is None:
                errors[0] += 1  # every device is still waiting for its last answer
            else:
                pool.submit(one, device)
            n += 1
    stop.set()
    return latencies, errors[0], meter.seconds


if __name__ == "__main__":
    main()
