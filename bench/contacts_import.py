"""CSV import benchmark: 100,000 rows through the gateway into PostgreSQL.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``).
Uploads a French CSV (``Nom;Prénom;Email;Portable;Société;Fonction``, 1,000
distinct companies) to ``POST /api/v1/imports``, polls the job, and prints
rows/s from the job's own start and finish times (and from upload to done).
Target: 2,000 rows/s or more.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import random
import time
import urllib.request
from datetime import datetime

from bench.contacts_search import FIRST, LAST, TRADES, _phone
from bench.system import running_system

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))


def make_csv(rows: int, rng: random.Random) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Nom", "Prénom", "Email", "Portable", "Société", "Fonction"])
    for index in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{TRADES[index % len(TRADES)]} {index % 1000}"
        writer.writerow(
            [
                last,
                first,
                f"{index}.{rng.randrange(10**6)}@exemple.fr",
                _phone(rng)[0],
                company,
                "Comptable" if index % 7 == 0 else "Commercial",
            ]
        )
    return out.getvalue().encode("utf-8")


def _call(base: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def main() -> None:
    rng = random.Random(7)
    content = make_csv(ROWS, rng)
    with running_system("import") as system:
        base = system.base_url
        token = system.admin_token()
        uploaded = time.perf_counter()
        job = _call(
            base,
            "/api/v1/imports",
            token,
            {"file_name": "contacts.csv", "content_base64": base64.b64encode(content).decode()},
        )
        while job["status"] in ("queued", "running"):
            time.sleep(0.5)
            job = _call(base, f"/api/v1/imports/{job['id']}", token)
        wall = time.perf_counter() - uploaded
        started = datetime.fromisoformat(job["started_at"])
        finished = datetime.fromisoformat(job["finished_at"])
        seconds = (finished - started).total_seconds()
        print(f"\nCSV import on PostgreSQL: {ROWS:,} rows ({len(content) / 1e6:.1f} MB), 1,000 companies\n")
        print("| measurement | rows | seconds | rows/s |")
        print("|---|---:|---:|---:|")
        print(
            f"| job (started to finished) | {job['rows_done']:,} | {seconds:.1f} "
            f"| {job['rows_done'] / seconds:,.0f} |"
        )
        print(f"| upload to done | {job['rows_done']:,} | {wall:.1f} | {job['rows_done'] / wall:,.0f} |")
        print(
            f"\nstatus {job['status']}; "
            + ", ".join(f"{key} {value}" for key, value in job.items() if key.startswith("rows_"))
        )


if __name__ == "__main__":
    main()
