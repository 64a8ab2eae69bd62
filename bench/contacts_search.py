"""Contacts search benchmark: an org of 100,000 contacts and 30,000 companies on PostgreSQL.

Seeds a dedicated database (``crm_bench``, schemas dropped first) and a
dedicated RabbitMQ vhost (``crm_bench``, made with rabbitmqctl when available),
starts `crm run` against them, then measures ``GET /api/v1/contacts?q=...``
(and companies) through the gateway with realistic queries: last names, first
and last name, company groups, e-mail fragments, phone numbers typed in national
form. Prints a table with p50/p95/p99; the target is p95 <= 50 ms.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from types import SimpleNamespace

import eventlet
from sqlalchemy import create_engine, insert, text

from bench.http_client import get_caller
from bench.loadgen import Result, closed_loop
from bench.system import DATABASE, running_system
from crm.ids import new_id

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "100000"))
COMPANIES = int(os.environ.get("BENCH_COMPANIES", "30000"))

FIRST = (
    "Alice Bruno Claire Denis Émile Fanny Gaston Hélène Inès Jules Karim Léa Marc Nadia Olivier Pauline "
    "Quentin Rose Samuel Thérèse Ugo Valérie William Yasmine Zoé François Agnès Benoît Cécile Damien"
).split()
LAST = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèbvre Michel "
    "Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre Mercier Dupont Lambert Bonnet "
    "François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry Roussel Nicolas Perrin "
    "Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Robin"
).split()
TRADES = (
    "Pomme Poire Cerise Brioche Verger Atelier Chiffres Bois Ardoise Lavande Olive Granit Azur Boréal "
    "Colibri Dauphin Érable Faucon Glycine Hêtre"
).split()
SITES = ("Siège Central", "Magasin", "Entrepôts", "Agence Lyon", "Agence Lille", "Atelier")


def _phone(rng: random.Random) -> tuple[str, str]:
    digits = "6" + "".join(str(rng.randrange(10)) for _ in range(8))
    national = "0" + digits
    return " ".join(national[i : i + 2] for i in range(0, 10, 2)), "+33" + digits


def seed(org_id: str, rng: random.Random) -> None:
    from services.contacts.models import Company, Contact, Employment
    from services.contacts.search_text import company_text, contact_text, fold

    engine = create_engine(
        DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1),
        connect_args={"options": "-csearch_path=contacts"},
    )
    now = datetime.now(UTC)
    companies = []
    for index in range(COMPANIES):
        group = f"{TRADES[index % len(TRADES)]} {index // (len(TRADES) * len(SITES))}"
        typed, e164 = _phone(rng)
        row = dict(
            id=new_id(),
            org_id=org_id,
            name=f"{group} {SITES[index % len(SITES)]}",
            group_name=group,
            phone=typed,
            phone_e164=e164,
            email=f"contact{index}@{fold(TRADES[index % len(TRADES)])}.fr",
            social={},
            tags=[],
            version=1,
            created_at=now,
            updated_at=now,
        )
        row["search_text"] = company_text(SimpleNamespace(**row))
        companies.append(row)
    contacts, employments = [], []
    for index in range(CONTACTS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        typed, e164 = _phone(rng)
        row = dict(
            id=new_id(),
            org_id=org_id,
            first_name=first,
            last_name=last,
            mobile=typed,
            mobile_e164=e164,
            email=f"{first.lower()}.{last.lower()}.{index}@exemple.fr",
            social={},
            version=1,
            created_at=now,
            updated_at=now,
        )
        current = []
        if index % 4:  # three contacts in four are employed somewhere
            company = companies[rng.randrange(COMPANIES)]
            employment = dict(
                id=new_id(),
                org_id=org_id,
                contact_id=row["id"],
                company_id=company["id"],
                function="Comptable" if index % 7 == 0 else "Commercial",
                version=1,
                created_at=now,
                updated_at=now,
            )
            employments.append(employment)
            current.append(
                (SimpleNamespace(email=None, phone_e164=None, mobile_e164=None), SimpleNamespace(**company))
            )
        row["search_text"] = contact_text(SimpleNamespace(phone_e164=None, **row), current)
        contacts.append(row)
    with engine.begin() as connection:
        for model, rows in ((Company, companies), (Contact, contacts), (Employment, employments)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(model.__table__), rows[start : start + 5000])
        connection.execute(text("ANALYZE"))
    engine.dispose()


def _queries(rng: random.Random) -> list[tuple[str, str]]:
    queries = []
    for _ in range(40):
        queries.append(("contacts", rng.choice(LAST)))
        queries.append(("contacts", f"{rng.choice(FIRST)} {rng.choice(LAST)}"))
        queries.append(("contacts", f"{rng.choice(TRADES)} {rng.randrange(30)}"))
        queries.append(("contacts", _phone(rng)[0]))
        queries.append(("companies", rng.choice(TRADES)))
    return queries


def main() -> None:
    eventlet.monkey_patch()
    rng = random.Random(20261122)

    def timed_seed(org_id: str) -> float:
        started = time.perf_counter()
        seed(org_id, rng)
        return time.perf_counter() - started

    with running_system("search", seed=timed_seed) as system:
        port, seeded = system.port, system.seeded
        token = system.admin_token()
        headers = {"Authorization": f"Bearer {token}"}
        queries = _queries(rng)
        rows = []
        for kind in ("contacts", "companies"):
            paths = [
                f"/api/v1/{k}?" + urllib.parse.urlencode({"q": q, "limit": 50})
                for k, q in queries
                if k == kind
            ]
            for concurrency in (1, 8):

                def make_caller(paths=paths):
                    callers = [get_caller("127.0.0.1", port, path, headers) for path in paths]
                    order = iter(range(10**9))
                    return lambda: callers[next(order) % len(callers)]()

                result = closed_loop(f"search {kind}", make_caller, concurrency, 1000, warmup=50)
                rows.append(result)
        print(
            f"\nContacts search on PostgreSQL: {CONTACTS:,} contacts, {COMPANIES:,} companies "
            f"(seeded in {seeded:.0f} s), {len(queries)} distinct queries\n"
        )
        print(_table(rows))


def _table(rows: list[Result]) -> str:
    lines = [
        "| measurement | concurrency | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.concurrency} | {r.requests} | {r.throughput:,.0f} | {r.p50:.1f} "
            f"| {r.percentile(95):.1f} | {r.p99:.1f} | {r.errors} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
