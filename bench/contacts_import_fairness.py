"""Fairness benchmark: organisation B's contact reads while organisation A imports hostile vCards.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``;
``BENCH_DATABASE_URL`` and ``BENCH_VHOST`` to change them). Organisation B
holds 200 contacts and reads ``GET /api/v1/contacts?limit=50`` in a closed
loop (2 callers) for ``BENCH_SECONDS`` (default 20) with organisation A idle:
the baseline. Then the same reads while A's 4 callers post, in a loop, a .vcf
of 4 MB of folded lines, one of 0.6 MB of quoted-printable soft breaks, and an
ordinary file of 200 cards (a dry run, so that A does real work each time).
It prints B's latency percentiles in both phases and what A's imports got.
Target: B's p99 ≤ 200 ms while A imports.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter

from bench.gateway_me import PASSWORD, _login
from bench.system import running_system

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
READERS, IMPORTERS = 2, 4
B_EMAIL = "bench@poire.fr"


def _card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


FILES = {
    "4 MB of folded lines": _card("N:Gérard;Zoé;;;", "NOTE:" + "a\r\n " * 1_000_000 + "b").encode(),
    "0.6 MB of QP soft breaks": _card(
        "N:Gérard;Zoé;;;", "NOTE;ENCODING=QUOTED-PRINTABLE:" + "=\r\n" * 200_000 + "b", version="2.1"
    ).encode(),
    "200 ordinary cards (dry run)": "".join(
        _card(
            f"N:Martin{i};Jeanne;;;",
            f"EMAIL:jeanne.{i}@exemple.fr",
            "ORG:Pomme Siège Central",
            "TITLE:Comptable",
        )
        for i in range(200)
    ).encode(),
}


class Client:
    def __init__(self, port: int, token: str):
        self.port, self.headers = port, {"Authorization": f"Bearer {token}"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> int:
        headers = {**self.headers, **({"Content-Type": content_type} if content_type else {})}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0


def _read_loop(client: Client, stop: threading.Event, latencies: list[float], statuses: Counter) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        status = client.call("GET", "/api/v1/contacts?limit=50")
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1


def _importer(port: int, token: str, stop, results, offset: int) -> None:
    """A's caller, in a process of its own so that its 4 MB bodies never slow B's clock."""
    outcomes: dict[str, Counter] = {name: Counter() for name in FILES}
    _import_loop(Client(port, token), stop, outcomes, offset)
    results.put(outcomes)


def _import_loop(client: Client, stop, outcomes: dict[str, Counter], offset: int) -> None:
    names = list(FILES)
    index = offset
    while not stop.is_set():
        name = names[index % len(names)]
        index += 1
        path = "/api/v1/contacts-import.vcf" + ("?dry_run=true" if "dry run" in name else "")
        started = time.perf_counter()
        status = client.call("POST", path, FILES[name], "text/vcard; charset=utf-8")
        outcomes[name][str(status)] += 1
        outcomes[name]["ms"] += round((time.perf_counter() - started) * 1000)


def _reads(
    port: int, token: str, load: bool, token_a: str
) -> tuple[list[float], Counter, dict[str, Counter]]:
    stop, latencies, statuses = threading.Event(), [], Counter()
    outcomes: dict[str, Counter] = {name: Counter() for name in FILES}
    threads = [
        threading.Thread(target=_read_loop, args=(Client(port, token), stop, latencies, statuses))
        for _ in range(READERS)
    ]
    context = multiprocessing.get_context("fork")
    stop_a, results = context.Event(), context.Queue()
    importers = [
        context.Process(target=_importer, args=(port, token_a, stop_a, results, n))
        for n in range(IMPORTERS if load else 0)
    ]
    for worker in [*importers, *threads]:
        worker.start()
    time.sleep(SECONDS)
    stop.set()
    stop_a.set()
    for thread in threads:
        thread.join()
    for _ in importers:
        for name, counts in results.get().items():
            outcomes[name].update(counts)
    for process in importers:
        process.join()
    return latencies, statuses, outcomes


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    with running_system("fairness") as system:
        config = os.path.join(system.settings["data_dir"], "crm.yaml")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "--config",
                config,
                "admin",
                "bootstrap",
                "--org",
                "Poire",
                "--email",
                B_EMAIL,
            ],
            env=dict(os.environ, CRM_ADMIN_PASSWORD=PASSWORD),
            check=True,
            capture_output=True,
        )
        token_a, token_b = system.admin_token(), _login(system.base_url, B_EMAIL)
        seeding = Client(system.port, token_b)
        for index in range(200):
            body = json.dumps({"last_name": f"Lefèvre {index}", "email": f"f.{index}@poire.fr"}).encode()
            seeding.call("POST", "/api/v1/contacts", body, "application/json")
        phases = [("A idle (baseline)", False), ("A importing hostile vCards", True)]
        rows, imports = [], {}
        for label, load in phases:
            latencies, statuses, outcomes = _reads(system.port, token_b, load, token_a)
            rows.append((label, latencies, statuses))
            if load:
                imports = outcomes
        print(
            f"\nOrganisation B's GET /api/v1/contacts?limit=50, {READERS} callers, {SECONDS:.0f} s per row\n"
        )
        print("| organisation A | reads | non-200 | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, latencies, statuses in rows:
            failed = sum(count for status, count in statuses.items() if status != 200)
            p50, p95, p99 = (_percentile(latencies, p) for p in (50, 95, 99))
            print(
                f"| {label} | {len(latencies)} | {failed} | {p50:.1f} | {p95:.1f} | {p99:.1f} "
                f"| {max(latencies):.1f} |"
            )
        print(f"\nOrganisation A's imports meanwhile ({IMPORTERS} callers in a loop)\n")
        print("| file | posted | answers | mean ms |")
        print("|---|---:|---:|---:|")
        for name, outcome in imports.items():
            posted = sum(count for status, count in outcome.items() if status != "ms")
            answers = ", ".join(
                f"{status}: {count}" for status, count in sorted(outcome.items()) if status != "ms"
            )
            print(f"| {name} | {posted} | {answers} | {outcome['ms'] / max(posted, 1):.0f} |")


if __name__ == "__main__":
    main()
