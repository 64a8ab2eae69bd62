"""Nearest-first lists benchmark: 30,000 companies and 100,000 contacts placed over France, on PostgreSQL.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``).
Seeds positions the way a French customer base looks: most records around 35
cities (weighted by population, Paris the densest, spread like a town and its
suburbs), some in the countryside (uniform over a rough outline of metropolitan
France), some without a position (contacts more often than companies); three
contacts in four work for a company. Then asks ``GET /api/v1/companies`` and
``/contacts`` for a page of 50 nearest first (``near=lat,lon``) from city centres
and countryside points, without a radius and with ``within_m`` of 1, 10 and 50 km,
sequentially and with 4 clients. Baselines in the same run: ``GET /api/v1/me``,
and each list's first page of 50 in its usual order (what a page costs without
``near``). Target: p95 at most 50 ms. The table gives each row's p95 over the
``/me`` p50 at the same concurrency, and the mean number of items a page held (a
1 km circle in the countryside is often empty); a second table the CPU each
request cost in each process at c=1 (``cpu.py``).

``BENCH_COMPANIES``, ``BENCH_CONTACTS`` set the size; ``BENCH_REQUESTS`` the requests
per row (default 400).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import eventlet
from sqlalchemy import create_engine, insert, text

from bench.cpu import CpuMeter, CpuRow, format_cpu_table
from bench.http_client import get_caller
from bench.loadgen import Result, closed_loop
from bench.system import DATABASE, running_system
from crm.ids import new_id

COMPANIES = int(os.environ.get("BENCH_COMPANIES", "30000"))
CONTACTS = int(os.environ.get("BENCH_CONTACTS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
PAGE = 50

# (name, latitude, longitude, weight ~ urban area in 100,000s, spread in km: one standard deviation)
CITIES = (
    ("Paris", 48.8566, 2.3522, 110, 12),
    ("Lyon", 45.7640, 4.8357, 23, 8),
    ("Marseille", 43.2965, 5.3698, 19, 8),
    ("Toulouse", 43.6047, 1.4442, 14, 7),
    ("Bordeaux", 44.8378, -0.5792, 13, 7),
    ("Lille", 50.6292, 3.0573, 12, 7),
    ("Nice", 43.7102, 7.2620, 10, 6),
    ("Nantes", 47.2184, -1.5536, 10, 6),
    ("Strasbourg", 48.5734, 7.7521, 8, 5),
    ("Montpellier", 43.6108, 3.8767, 8, 5),
    ("Rennes", 48.1173, -1.6778, 7, 5),
    ("Grenoble", 45.1885, 5.7245, 7, 5),
    ("Rouen", 49.4432, 1.0999, 7, 5),
    ("Toulon", 43.1242, 5.9280, 6, 5),
    ("Clermont-Ferrand", 45.7772, 3.0870, 5, 4),
    ("Tours", 47.3941, 0.6848, 5, 4),
    ("Saint-Étienne", 45.4397, 4.3872, 5, 4),
    ("Nancy", 48.6921, 6.1844, 4, 4),
    ("Metz", 49.1193, 6.1757, 4, 4),
    ("Orléans", 47.9030, 1.9093, 4, 4),
    ("Dijon", 47.3220, 5.0415, 4, 4),
    ("Angers", 47.4784, -0.5632, 4, 4),
    ("Caen", 49.1829, -0.3707, 4, 3),
    ("Reims", 49.2583, 4.0317, 3, 3),
    ("Le Havre", 49.4944, 0.1079, 3, 3),
    ("Brest", 48.3904, -4.4861, 3, 3),
    ("Limoges", 45.8336, 1.2611, 3, 3),
    ("Perpignan", 42.6887, 2.8948, 3, 3),
    ("Amiens", 49.8941, 2.2958, 3, 3),
    ("Besançon", 47.2378, 6.0241, 3, 3),
    ("Avignon", 43.9493, 4.8055, 3, 3),
    ("Poitiers", 46.5802, 0.3404, 2, 3),
    ("Pau", 43.2951, -0.3708, 2, 3),
    ("La Rochelle", 46.1603, -1.1511, 2, 3),
    ("Annecy", 45.8992, 6.1294, 2, 3),
)
# A rough outline of metropolitan France (longitude, latitude), for countryside points on land.
OUTLINE = (
    (-4.7, 48.4), (-1.9, 48.7), (-1.6, 49.65), (0.1, 49.5), (1.6, 50.9), (2.55, 51.08), (4.2, 49.95),
    (5.8, 49.5), (8.2, 48.97), (7.6, 47.6), (6.0, 46.2), (6.9, 45.9), (7.0, 44.2), (7.5, 43.8),
    (6.2, 43.1), (4.8, 43.35), (3.0, 42.45), (1.8, 42.45), (-1.8, 43.35), (-1.25, 44.6), (-1.2, 46.2),
    (-2.2, 47.1), (-4.4, 47.8),
)  # fmt: skip
KM_PER_DEGREE = 111.2


def _on_land(longitude: float, latitude: float) -> bool:
    """Ray casting in ``OUTLINE``."""
    inside = False
    for (x1, y1), (x2, y2) in zip(OUTLINE, OUTLINE[1:] + OUTLINE[:1], strict=True):
        if (y1 > latitude) != (y2 > latitude):
            if longitude < x1 + (latitude - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def countryside(rng: random.Random) -> tuple[float, float]:
    while True:
        latitude, longitude = rng.uniform(42.4, 51.1), rng.uniform(-4.8, 8.3)
        if _on_land(longitude, latitude):
            return latitude, longitude


def around_city(rng: random.Random) -> tuple[float, float]:
    """A 2-D normal around a city; one in five three times wider (the outer suburbs)."""
    _, latitude, longitude, _, spread_km = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
    spread_km *= 3 if rng.random() < 0.2 else 1
    north_km, east_km = rng.gauss(0, spread_km), rng.gauss(0, spread_km)
    return (
        latitude + north_km / KM_PER_DEGREE,
        longitude + east_km / (KM_PER_DEGREE * math.cos(math.radians(latitude))),
    )


def position(rng: random.Random, without: float) -> tuple[float | None, float | None]:
    """Three in four of the positioned records in or around a city, the others in the countryside."""
    draw = rng.random()
    if draw < without:
        return None, None
    return around_city(rng) if draw < without + (1 - without) * 0.75 else countryside(rng)


def seed(org_id: str, rng: random.Random) -> dict[str, int]:
    from services.contacts.models import Company, Contact, Employment

    engine = create_engine(
        DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1),
        connect_args={"options": "-csearch_path=contacts"},
    )
    now = datetime.now(UTC)
    companies, contacts, employments = [], [], []
    for index in range(COMPANIES):
        latitude, longitude = position(rng, without=0.08)
        companies.append(
            dict(
                id=new_id(),
                org_id=org_id,
                name=f"Boulangerie {index}",
                latitude=latitude,
                longitude=longitude,
                position_source=None if latitude is None else "import",
                social={},
                tags=[],
                search_text=f"boulangerie {index}",
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
    for index in range(CONTACTS):
        latitude, longitude = position(rng, without=0.2)
        contact_id = new_id()
        contacts.append(
            dict(
                id=contact_id,
                org_id=org_id,
                first_name="Claire",
                last_name=f"Martin {index}",
                latitude=latitude,
                longitude=longitude,
                position_source=None if latitude is None else "typed",
                social={},
                search_text=f"claire martin {index}",
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        if index % 4:  # three contacts in four are employed somewhere
            employments.append(
                dict(
                    id=new_id(),
                    org_id=org_id,
                    contact_id=contact_id,
                    company_id=companies[rng.randrange(COMPANIES)]["id"],
                    function="Commercial",
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
    with engine.begin() as connection:
        for model, rows in ((Company, companies), (Contact, contacts), (Employment, employments)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(model.__table__), rows[start : start + 5000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE contacts.companies, contacts.contacts, contacts.employments"))
    engine.dispose()
    return {
        "companies": sum(c["latitude"] is not None for c in companies),
        "contacts": sum(c["latitude"] is not None for c in contacts),
    }


def points(rng: random.Random, count: int) -> list[tuple[str, float, float]]:
    """Half at a city's centre (within 2 km, cities drawn alike), half in the countryside."""
    chosen = []
    for index in range(count):
        if index % 2:
            chosen.append(("countryside", *countryside(rng)))
        else:
            _, latitude, longitude, _, _ = rng.choice(CITIES)
            chosen.append(
                ("city", latitude + rng.uniform(-0.018, 0.018), longitude + rng.uniform(-0.025, 0.025))
            )
    return chosen


def _path(listing: str, latitude: float, longitude: float, within_m: int | None) -> str:
    query = {"near": f"{latitude:.5f},{longitude:.5f}", "limit": PAGE}
    if within_m is not None:
        query["within_m"] = within_m
    return f"/api/v1/{listing}?" + urllib.parse.urlencode(query)


def _mean_items(base_url: str, paths: list[str], headers: dict[str, str]) -> float:
    """Items per page over ``paths`` (each asked once), checking the answer is nearest first."""
    total = 0
    for path in paths:
        with urllib.request.urlopen(urllib.request.Request(base_url + path, headers=headers)) as answer:
            items = json.load(answer)["items"]
        distances = [item["distance_m"] for item in items]
        assert distances == sorted(distances), f"{path} not nearest first"
        total += len(items)
    return total / len(paths)


def _cycling(port: int, paths: list[str], headers: dict[str, str]):
    def make_caller():
        callers = [get_caller("127.0.0.1", port, path, headers) for path in paths]
        order = iter(range(10**9))
        return lambda: callers[next(order) % len(callers)]()

    return make_caller


def main() -> None:
    eventlet.monkey_patch()
    rng = random.Random(20261206)

    def timed_seed(org_id: str) -> tuple[float, dict[str, int]]:
        started = time.perf_counter()
        positioned = seed(org_id, rng)
        return time.perf_counter() - started, positioned

    with running_system("nearest", seed=timed_seed) as system:
        port, (seconds, positioned) = system.port, system.seeded
        headers = {"Authorization": f"Bearer {system.admin_token()}"}
        where = points(rng, 200)
        rows: list[tuple[Result, float | None, float]] = []
        cpu_rows: list[CpuRow] = []

        def measure(name: str, paths: list[str], concurrency: int, warmup: int) -> Result:
            with CpuMeter({system.pid}) as meter:
                result = closed_loop(name, _cycling(port, paths, headers), concurrency, REQUESTS, warmup)
            if concurrency == 1:
                cpu_rows.append(CpuRow(name, result.requests + warmup, meter.seconds))
            return result

        for concurrency in (1, 4):
            baseline = measure("GET /api/v1/me (baseline)", ["/api/v1/me"], concurrency, 50)
            rows.append((baseline, None, baseline.p50))
            for listing, sort in (("companies", "name"), ("contacts", "last_name")):
                # The same page in the usual order: what a list of 50 costs without near.
                usual = [f"/api/v1/{listing}?" + urllib.parse.urlencode({"sort": sort, "limit": PAGE})]
                result = measure(f"{listing}, usual order (sort={sort})", usual, concurrency, 20)
                rows.append((result, None, baseline.p50))
                for within_m in (None, 1_000, 10_000, 50_000):
                    for kind in ("city", "countryside"):
                        paths = [_path(listing, lat, lon, within_m) for k, lat, lon in where if k == kind]
                        items = _mean_items(system.base_url, paths, headers) if concurrency == 1 else None
                        radius = "no radius" if within_m is None else f"within {within_m // 1000} km"
                        result = measure(f"{listing} near, {kind}, {radius}", paths, concurrency, 20)
                        rows.append((result, items, baseline.p50))
        print(
            f"\nNearest first on PostgreSQL: {COMPANIES:,} companies ({positioned['companies']:,} with a "
            f"position), {CONTACTS:,} contacts ({positioned['contacts']:,} with a position), around "
            f"{len(CITIES)} French cities and in the countryside (seeded in {seconds:.0f} s); pages of "
            f"{PAGE} from {len(where)} points, half city centres, half countryside\n"
        )
        print(_table(rows))
        print("\nCPU per request at c=1 (PostgreSQL and RabbitMQ: every process of theirs on the machine)\n")
        print(format_cpu_table(cpu_rows))


def _table(rows: list[tuple[Result, float | None, float]]) -> str:
    lines = [
        "| measurement | c | requests | items/page | req/s | p50 ms | p95 ms | p99 ms | p95 / me p50 "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    items_of = {}
    for result, items, _ in rows:
        if items is not None:
            items_of[result.name] = items
    for result, _, baseline_p50 in rows:
        items = items_of.get(result.name)
        lines.append(
            f"| {result.name} | {result.concurrency} | {result.requests} "
            f"| {'' if items is None else f'{items:.1f}'} | {result.throughput:,.0f} | {result.p50:.1f} "
            f"| {result.percentile(95):.1f} | {result.p99:.1f} | {result.percentile(95) / baseline_p50:.1f} "
            f"| {result.errors} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
