"""Write-path benchmark: what a create or an update costs next to a read, through the gateway.

Starts `crm run` on PostgreSQL (``bench.system``), makes a company, 64 contacts and
64 interactions, then measures over HTTP, at c=1 and c=8 (closed loop, one
keep-alive connection per caller):

- ``GET /api/v1/contacts/{id}``: the baseline read;
- ``POST /api/v1/contacts`` with one employment (a new e-mail each time);
- ``PATCH /api/v1/contacts/{id}`` (a new note each time, over the 64 contacts);
- ``POST /api/v1/interactions`` linked to a contact and a company;
- ``POST /api/v1/interactions/{id}/notes``.

For each row: req/s, p50/p99, and the CPU each request cost in each of our
processes (psutil, before and after the row; several processes of a service are
summed under its name), in sync (which applies every event to its replica), in
RabbitMQ, PostgreSQL (the backends of the benchmark's database and the server's
own processes) and the load generator, their sum (``system``), and on the whole
machine (others' work included), with the write/read CPU ratios
against the read of the same concurrency. Req/s depends on what else the machine
runs; CPU per request much less.

``BENCH_REQUESTS`` (default 1,000) sets the requests per row. ``BENCH_PROCESSES``
lists the systems to measure, one after the other, one word each: ``one`` (one
process per service) or ``run.processes`` as ``contacts=2,gateway=2``; default
``"one contacts=2,gateway=2"``.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import eventlet
import psutil

from bench.cpu import LOAD_GENERATOR, CpuMeter
from bench.http_client import send_caller
from bench.loadgen import Result, closed_loop
from bench.system import DATABASE, BenchSystem, running_system

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
POOL = 64
CORES = os.cpu_count() or 1
MACHINE = "machine"
OURS = ("contacts", "interactions", "gateway", "accounts")
SYSTEM = "system"  # every process the meter counts: all of `crm run`'s, RabbitMQ, PostgreSQL
COLUMNS = (*OURS, "sync", "RabbitMQ", "PostgreSQL", LOAD_GENERATOR, SYSTEM, MACHINE)
Request = tuple[str, str, Any]


def _call(system: BenchSystem, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{system.base_url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _workloads(system: BenchSystem, token: str) -> dict[str, Callable[[], Request]]:
    """The rows, each a function making the next request; the records they need made first."""
    run = uuid.uuid4().hex[:8]
    company = _call(system, token, "POST", "/api/v1/companies", {"name": "Pomme Siège Central"})
    contacts = [
        _call(
            system,
            token,
            "POST",
            "/api/v1/contacts",
            {"first_name": "Léa", "last_name": f"Moreau {n}", "email": f"lea.{run}.{n}@pomme.fr"},
        )["id"]
        for n in range(POOL)
    ]
    interactions = [
        _call(
            system,
            token,
            "POST",
            "/api/v1/interactions",
            {"subject": f"Visite {n}", "type": "meeting", "start_at": "2026-12-07T10:00:00+01:00"},
        )["id"]
        for n in range(POOL)
    ]
    counter = itertools.count()

    def read() -> Request:
        return "GET", f"/api/v1/contacts/{contacts[next(counter) % POOL]}", None

    def create_contact() -> Request:
        n = next(counter)
        body = {
            "first_name": "Claire",
            "last_name": f"Dubois {n}",
            "email": f"claire.dubois.{run}.{n}@exemple.fr",
            "mobile": "06 12 34 56 78",
            "employments": [{"company_id": company["id"], "function": "Comptable"}],
        }
        return "POST", "/api/v1/contacts", body

    def update_contact() -> Request:
        n = next(counter)
        return "PATCH", f"/api/v1/contacts/{contacts[n % POOL]}", {"note": f"Rappeler jeudi ({n})"}

    def create_interaction() -> Request:
        n = next(counter)
        body = {
            "subject": f"Rendez-vous {n}",
            "type": "meeting",
            "start_at": "2026-12-08T10:00:00+01:00",
            "end_at": "2026-12-08T11:00:00+01:00",
            "contact_ids": [contacts[n % POOL]],
            "company_ids": [company["id"]],
        }
        return "POST", "/api/v1/interactions", body

    def add_note() -> Request:
        n = next(counter)
        return "POST", f"/api/v1/interactions/{interactions[n % POOL]}/notes", {"text": f"Appelé ({n})"}

    return {
        "read contact (baseline)": read,
        "create contact + employment": create_contact,
        "update contact": update_contact,
        "create interaction + 2 links": create_interaction,
        "add note": add_note,
    }


def _machine_busy() -> float:
    """CPU seconds every process of the machine has spent so far (all cores, idle and iowait excluded)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _measure(
    system: BenchSystem, token: str, name: str, next_request: Callable[[], Request], concurrency: int
) -> tuple[Result, dict[str, float]]:
    headers = {"Authorization": f"Bearer {token}"}

    def make_caller() -> Callable[[], bool]:
        return send_caller("127.0.0.1", system.port, next_request, headers)

    closed_loop(name, make_caller, concurrency, min(200, REQUESTS), warmup=0)  # warm, not measured
    busy = _machine_busy()
    # PostgreSQL's backends serving other databases (others' tests and benchmarks) are left out.
    with CpuMeter({system.pid}, database=DATABASE.rsplit("/", 1)[1]) as meter:
        result = closed_loop(name, make_caller, concurrency, REQUESTS, warmup=0)
    seconds = {**meter.seconds, SYSTEM: sum(meter.seconds.values()), MACHINE: _machine_busy() - busy}
    per_request = {label: seconds.get(label, 0.0) * 1000 / result.requests for label in COLUMNS}
    return result, per_request


def format_table(rows: list[tuple[Result, dict[str, float]]]) -> str:
    """One line per row; the write/read ratios divide by the read of the same concurrency."""
    lines = [
        "| work | c | req/s | p50 ms | p99 ms | errors | CPU ms/request: "
        + " | ".join(COLUMNS)
        + " | ours | write/read CPU: contacts+interactions | ours |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * (len(COLUMNS) + 3),
    ]
    baseline: dict[int, tuple[float, float]] = {}
    for result, cpu in rows:
        service = cpu["contacts"] + cpu["interactions"]
        ours = sum(cpu[label] for label in OURS)
        read_service, read_ours = baseline.setdefault(result.concurrency, (service, ours))
        lines.append(
            f"| {result.name} | {result.concurrency} | {result.throughput:,.0f} | {result.p50:.1f} "
            f"| {result.p99:.1f} | {result.errors} | "
            + " | ".join(f"{cpu[label]:.2f}" for label in COLUMNS)
            + f" | {ours:.2f} | {service / read_service:.2f} | {ours / read_ours:.2f} |"
        )
    return "\n".join(lines)


def _configurations() -> list[dict[str, int]]:
    """``BENCH_PROCESSES="one contacts=2,gateway=2"``: one system per word, ``one`` for one process each."""
    spec = os.environ.get("BENCH_PROCESSES", "one contacts=2,gateway=2")
    return [
        {}
        if word == "one"
        else {name: int(count) for name, count in (item.split("=") for item in word.split(","))}
        for word in spec.split()
    ]


def run(processes: dict[str, int]) -> str:
    """The table of one system whose services run as ``processes``."""
    settings = {"run": {"processes": processes}} if processes else None
    with running_system("writes", settings=settings) as system:
        token = system.admin_token()
        workloads = _workloads(system, token)
        rows = []
        for concurrency in (1, 8):
            for name, next_request in workloads.items():
                rows.append(_measure(system, token, name, next_request, concurrency))
    shown = ", ".join(f"{name} {count}" for name, count in processes.items()) or "one each"
    return f"Processes: {shown}\n\n{format_table(rows)}"


def main() -> None:
    eventlet.monkey_patch()
    tables = [run(processes) for processes in _configurations()]
    print(f"\nWrites through the gateway on PostgreSQL, {REQUESTS:,} requests per row, {CORES} cores")
    print(
        "(CPU of each of our processes per request, several of a service summed; PostgreSQL: the\n"
        "backends of the benchmark's database and the server's own processes; RabbitMQ and machine\n"
        "count others' work too; system: every process counted but the machine; ours: contacts,\n"
        "interactions, gateway and accounts; write/read: over the read's at the same c)\n"
    )
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
