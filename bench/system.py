"""The system a PostgreSQL benchmark measures: `crm run` on ``crm_bench``, started and stopped.

``running_system`` empties the services' schemas in ``crm_bench``, writes a
configuration (free ports, the ``crm_bench`` vhost when ``rabbitmqctl`` is
there), migrates, bootstraps the admin ``bench@pomme.fr``, lets the benchmark
seed the database, then runs the system until the block ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from bench.gateway_me import PASSWORD, _free_port, _login, _wait_ready

ADMIN_EMAIL = "bench@pomme.fr"
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/crm_bench")
SCHEMAS = ("accounts", "contacts", "messaging", "interactions", "notifier", "mailin", "sync")


def _ensure_database() -> None:
    admin_url = DATABASE.rsplit("/", 1)[0] + "/postgres"
    engine = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT"
    )
    name = DATABASE.rsplit("/", 1)[1]
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as connection:
        for schema in SCHEMAS:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _amqp_uri() -> str:
    vhost = os.environ.get("BENCH_VHOST", "crm_bench")
    if shutil.which("rabbitmqctl"):
        # Afresh: the durable queues of an earlier run stopped midway would still hold its events,
        # applied by this run's services to schemas that no longer have their records.
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
        subprocess.run(["rabbitmqctl", "add_vhost", vhost], capture_output=True)
        subprocess.run(
            ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            capture_output=True,
        )
        return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    print("rabbitmqctl not found: using the default vhost (stop other CRM processes first)")
    return "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class BenchSystem:
    base_url: str
    port: int
    amqp_uri: str
    org_id: str
    settings: dict[str, Any]
    seeded: Any  # what the seeding function returned
    pid: int  # `crm run`, whose children are the services

    def admin_token(self) -> str:
        return _login(self.base_url, ADMIN_EMAIL)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and key in merged else value
    return merged


@contextmanager
def running_system(
    name: str, seed: Callable[[str], Any] | None = None, settings: dict[str, Any] | None = None
) -> Iterator[BenchSystem]:
    """`crm run` for the benchmark ``name``; ``seed(org_id)`` fills the database before it starts."""
    _ensure_database()
    amqp_uri = _amqp_uri()
    workdir = tempfile.mkdtemp(prefix=f"crm-bench-{name}-")
    port = _free_port()
    document = _merge(
        {
            "amqp_uri": amqp_uri,
            "data_dir": workdir,
            "log_level": "WARNING",
            "database": {"url": DATABASE},
            "gateway": {"port": port},
            "messaging": {"sandbox_port": _free_port()},
            "mailin": {"smtp_port": _free_port()},
        },
        settings or {},
    )
    config = os.path.join(workdir, "crm.yaml")
    with open(config, "w") as handle:
        yaml.safe_dump(document, handle)
    crm = [sys.executable, "-m", "cli", "--config", config]
    env = dict(os.environ, CRM_ADMIN_PASSWORD=PASSWORD)
    subprocess.run(crm + ["migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        crm + ["admin", "bootstrap", "--org", "Bench", "--email", ADMIN_EMAIL],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    org_id = out.split("(")[1].split(")")[0]
    seeded = seed(org_id) if seed is not None else None
    log = open(os.path.join(workdir, "crm-run.log"), "w")  # noqa: SIM115
    # Its own process group, so that a `crm run` that does not stop in time is killed
    # together with the services and the sandbox it started.
    process = subprocess.Popen(
        crm + ["run"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base_url}/readyz")
        yield BenchSystem(base_url, port, amqp_uri, org_id, document, seeded, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
