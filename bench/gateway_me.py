"""Gateway benchmark: authenticated GET /api/v1/me against the kombu echo ceiling.

Starts its own system (`crm run` in a temporary data directory; SQLite unless
CRM_DATABASE_URL is set), bootstraps an admin, logs in, then measures at
concurrency 1 and 32. Prints a table; exits non-zero if a request failed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import eventlet

from bench import kombu_echo
from bench.http_client import get_caller
from bench.loadgen import Result, closed_loop
from crm.settings import load_settings

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
    eventlet.monkey_patch()
    settings = load_settings(config)
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="crm-bench-")
    env = dict(os.environ, CRM_DATA_DIR=workdir, CRM_PORT=str(port), CRM_ADMIN_PASSWORD=PASSWORD)
    email = f"bench-{port}@pomme.fr"
    crm = [sys.executable, "-m", "crm"] + (["--config", config] if config else [])
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
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/readyz")
        echo.stdout.readline()
        token = _login(base, email)
        headers = {"Authorization": f"Bearer {token}"}
        client = kombu_echo.EchoClient(settings.amqp_uri)
        rows = []
        for concurrency in CONCURRENCIES:
            ceiling = closed_loop("kombu echo (ceiling)", client.caller, concurrency, requests)
            gateway = closed_loop(
                "GET /api/v1/me",
                lambda: get_caller("127.0.0.1", port, "/api/v1/me", headers),
                concurrency,
                requests,
            )
            rows += [(ceiling, ceiling), (gateway, ceiling)]
        database = settings.database_url("accounts").split(":")[0]
        print(
            f"\nGateway benchmark ({requests} requests per row, accounts on {database}, "
            f"{os.cpu_count()} cores)\n"
        )
        print(format_table(rows))
        if any(result.errors for result, _ in rows):
            raise SystemExit("some requests failed")
    finally:
        for process in (system, echo):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if process is system:
                    os.killpg(process.pid, signal.SIGKILL)
                process.kill()


if __name__ == "__main__":
    main(os.environ.get("CRM_CONFIG"), int(os.environ.get("BENCH_REQUESTS", "10000")))
