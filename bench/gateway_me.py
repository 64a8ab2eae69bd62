"""Gateway benchmark: authenticated GET /api/v1/me against the kombu echo ceiling.

Starts its own system (`crm run` in a temporary data directory; SQLite unless
CRM_DATABASE_URL is set), bootstraps an admin, logs in, then measures at
concurrency 1 and 32: the ceiling (kombu echo), the floor (one RPC through our
nameko HTTP and RPC entrypoints that does nothing, ``bench.nameko_floor``) and
``GET /api/v1/me``. Prints a throughput table and the CPU each request cost in
each process; exits non-zero if a request failed.
"""

from __future__ import annotations

import eventlet

# Green sockets before anything else is imported (patching later walks every object
# already loaded, and trips over pydantic's).
eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from typing import Any  # noqa: E402

from bench import kombu_echo, nameko_floor  # noqa: E402
from bench.cpu import CpuMeter, CpuRow, format_cpu_table  # noqa: E402
from bench.http_client import get_caller  # noqa: E402
from bench.loadgen import Result, closed_loop  # noqa: E402
from crm.settings import load_settings  # noqa: E402

CONCURRENCIES = (1, 32)
PASSWORD = "bench-password-123"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the system did not become ready at {url}")


def _login(base: str, email: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access_token"]


def format_table(rows: list[tuple[Result, Result]]) -> str:
    lines = [
        "| measurement | concurrency | requests | req/s | p50 ms | p99 ms | ratio to ceiling | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result, ceiling in rows:
        ratio = result.throughput / ceiling.throughput
        lines.append(
            f"| {result.name} | {result.concurrency} | {result.requests} | {result.throughput:,.0f} "
            f"| {result.p50:.2f} | {result.p99:.2f} | {ratio:.0%} | {result.errors} |"
        )
    return "\n".join(lines)


def main(config: str | None = None, requests: int = 10_000) -> None:
    settings = load_settings(config)
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="crm-bench-")
    env = dict(os.environ, CRM_DATA_DIR=workdir, CRM_PORT=str(port), CRM_ADMIN_PASSWORD=PASSWORD)
    email = f"bench-{port}@pomme.fr"
    crm = [sys.executable, "-m", "cli"] + (["--config", config] if config else [])
    subprocess.run(
        crm + ["admin", "bootstrap", "--org", "Bench", "--email", email],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    system_log = open(os.path.join(workdir, "crm-run.log"), "w")  # noqa: SIM115
    # Its own process group: if it does not stop in time, its services go with it.
    system = subprocess.Popen(
        crm + ["run"], env=env, stdout=system_log, stderr=subprocess.STDOUT, start_new_session=True
    )
    echo = subprocess.Popen(
        [sys.executable, "-m", "bench.kombu_echo", settings.amqp_uri],
        stdout=subprocess.PIPE,
        text=True,
    )
    floor_port = _free_port()
    floor = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.nameko_floor", *role], env=env, stdout=subprocess.PIPE, text=True
        )
        for role in (["service"], ["gateway", str(floor_port)])
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/readyz")
        echo.stdout.readline()
        token = _login(base, email)
        headers = {"Authorization": f"Bearer {token}"}
        for process in floor:
            process.stdout.readline()
        client = kombu_echo.EchoClient(settings.amqp_uri)
        roots = {system.pid, echo.pid, *(process.pid for process in floor)}
        rows, cpu_rows = [], []

        def measure(name: str, make_caller: Any, concurrency: int) -> Result:
            with CpuMeter(roots) as meter:
                result = closed_loop(name, make_caller, concurrency, requests)
            cpu_rows.append(CpuRow(f"{name}, c={concurrency}", result.requests, meter.seconds))
            return result

        for concurrency in CONCURRENCIES:
            ceiling = measure("kombu echo (ceiling)", client.caller, concurrency)
            floor_result = measure(
                "nameko HTTP -> RPC, no work (floor)",
                lambda: get_caller("127.0.0.1", floor_port, nameko_floor.FLOOR_PATH, {}),
                concurrency,
            )
            gateway = measure(
                "GET /api/v1/me",
                lambda: get_caller("127.0.0.1", port, "/api/v1/me", headers),
                concurrency,
            )
            rows += [(ceiling, ceiling), (floor_result, ceiling), (gateway, ceiling)]
        database = settings.database_url("accounts").split(":")[0]
        print(
            f"\nGateway benchmark ({requests} requests per row, accounts on {database}, "
            f"{os.cpu_count()} cores)\n"
        )
        print(format_table(rows))
        print("\nCPU per request (user + system time of each process during the row)\n")
        print(format_cpu_table(cpu_rows))
        if any(result.errors for result, _ in rows):
            raise SystemExit("some requests failed")
    finally:
        for process in (system, echo, *floor):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if process is system:
                    os.killpg(process.pid, signal.SIGKILL)
                process.kill()


if __name__ == "__main__":
    main(os.environ.get("CRM_CONFIG"), int(os.environ.get("BENCH_REQUESTS", "10000")))
