"""Agenda benchmark: 10 users over one month in an org of 1,000,000 interactions, on PostgreSQL.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``).
Seeds the interactions with SQL (200 users, ten years, one in five with one or
two participants), then asks ``GET /api/v1/agenda`` for 10 random users over a
random month, sequentially and with 4 clients. Baseline in the same run:
``GET /api/v1/me`` (an authenticated call doing one small RPC). Target: p95 of
the agenda at most 100 ms.

``BENCH_INTERACTIONS`` (default 1,000,000) sets the size.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse

import eventlet
from sqlalchemy import create_engine, text

from bench.contacts_search import _table
from bench.http_client import get_caller
from bench.loadgen import closed_loop
from bench.system import DATABASE, running_system

INTERACTIONS = int(os.environ.get("BENCH_INTERACTIONS", "1000000"))
USERS = 200


def seed(org_id: str, owners: list[str] | None = None) -> float:
    """Interactions spread over 2020-2029, owned by ``owners`` (default 200 made-up users).

    One in five has one or two participants among the same users.
    """
    owners = owners or [f"user-{n}" for n in range(USERS)]
    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text(
                """
                INSERT INTO interactions.interactions
                  (id, org_id, subject, type_key, status_key, start_at, end_at, all_day, budget_amount,
                   budget_currency, owner_id, version, created_by, created_at, updated_at)
                SELECT
                  'bench-' || lpad(i::text, 9, '0'), :org,
                  'Rendez-vous ' || i, 'meeting', 'planned',
                  start_at, start_at + interval '1 hour', false,
                  CASE WHEN i % 3 = 0 THEN (i % 5000)::numeric ELSE NULL END,
                  CASE WHEN i % 3 = 0 THEN 'EUR' ELSE NULL END,
                  (CAST(:owners AS text[]))[1 + i % :users], 1, (CAST(:owners AS text[]))[1], now(), now()
                FROM (
                  SELECT i, timestamptz '2020-01-01 08:00+00'
                            + ((i::bigint * 7919) % (10 * 365)) * interval '1 day'
                            + ((i * 31) % 10) * interval '1 hour' AS start_at
                  FROM generate_series(1, :count) AS i
                ) AS spread
                """
            ),
            {"org": org_id, "owners": owners, "users": len(owners), "count": INTERACTIONS},
        )
        connection.execute(
            text(
                """
                INSERT INTO interactions.participants
                  (interaction_id, user_id, org_id, status, invited_by, invited_at, start_at)
                SELECT id, (CAST(:owners AS text[]))[1 + (substr(id, 7)::int * 13 + k) % :users], org_id,
                       CASE WHEN k = 1 THEN 'confirmed' ELSE 'invited' END, owner_id, now(), start_at
                FROM interactions.interactions, generate_series(1, 2) AS k
                WHERE org_id = :org AND substr(id, 7)::int % 5 = 0 AND (k = 1 OR substr(id, 7)::int % 2 = 0)
                """
            ),
            {"org": org_id, "owners": owners, "users": len(owners)},
        )
        connection.execute(text("ANALYZE interactions.interactions"))
        connection.execute(text("ANALYZE interactions.participants"))
    engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    eventlet.monkey_patch()
    rng = random.Random(20261122)
    with running_system("agenda", seed=seed) as system:
        port, seeded = system.port, system.seeded
        token = system.admin_token()
        headers = {"Authorization": f"Bearer {token}"}
        paths = []
        for _ in range(200):
            users = ",".join(f"user-{n}" for n in rng.sample(range(USERS), 10))
            year, month = rng.randrange(2020, 2030), rng.randrange(1, 13)
            last = 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31
            month_days = {"since": f"{year}-{month:02d}-01", "until": f"{year}-{month:02d}-{last}"}
            query = {"user_ids": users, **month_days}
            paths.append("/api/v1/agenda?" + urllib.parse.urlencode(query))

        def cycling(paths: list[str]):
            def make_caller():
                callers = [get_caller("127.0.0.1", port, path, headers) for path in paths]
                order = iter(range(10**9))
                return lambda: callers[next(order) % len(callers)]()

            return make_caller

        rows = []
        for concurrency in (1, 4):
            me = cycling(["/api/v1/me"])
            rows.append(closed_loop("GET /api/v1/me (baseline)", me, concurrency, 500, 50))
            rows.append(closed_loop("agenda, 10 users, 1 month", cycling(paths), concurrency, 500, 20))
        print(
            f"\nAgenda on PostgreSQL: {INTERACTIONS:,} interactions of {USERS} users over ten years "
            f"(seeded in {seeded:.0f} s); about {INTERACTIONS * 10 // USERS // 120:,} owned per answer\n"
        )
        print(_table(rows))


if __name__ == "__main__":
    main()
