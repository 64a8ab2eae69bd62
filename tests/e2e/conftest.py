"""The whole system through its real doors: `crm run` in a subprocess, HTTP in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from crm.database import UnitOfWork, create_service_engine
from crm.settings import Settings, parse_settings
from services.accounts import users
from services.accounts.schemas import Bootstrap
from tests.broker import fresh_vhost
from tests.smtp_relay import SmtpRelay

PASSWORD = "Pomme-2026-secret"
ALLOWED_ORIGIN = "https://app.pomme.fr"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports nothing listens on now, below the range the
    system hands out to outgoing connections and to port 0 (where another could take one)."""
    lowest_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for base in range(10000 + os.getpid() % 10000, lowest_ephemeral - count, 97):
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Api:
    """A caller of the HTTP API; each has its own client address."""

    def __init__(self, base_url: str, token: str | None = None, address: str | None = None):
        self.base_url = base_url
        self.token = token
        self.address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-Forwarded-For": self.address, **kwargs.pop("headers", {})}
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class System:
    base_url: str
    config_path: Path
    settings: Settings
    # Where every process of `crm run` writes its log lines (JSON).
    log_path: Path | None = None

    def anonymous(self) -> Api:
        return Api(self.base_url)

    def login(self, email: str, password: str = PASSWORD) -> Api:
        api = Api(self.base_url)
        response = api.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        body = response.json()
        api.token = body["access_token"]
        api.refresh_token = body["refresh_token"]
        api.user = body["user"]
        return api

    def bootstrap_org(self, name: str | None = None) -> tuple[str, str]:
        """A fresh organisation with its admin; returns (org id, admin e-mail)."""
        email = f"{unique('admin')}@pomme.fr"
        engine = create_service_engine(self.settings, "accounts")
        try:
            with Session(engine, expire_on_commit=False) as session:
                uow = UnitOfWork(session)
                org, _ = users.bootstrap(
                    uow,
                    Bootstrap(
                        org_name=name or unique("Pomme"), email=email, name="Alice Martin", password=PASSWORD
                    ),
                )
                uow.write_events()
                session.commit()
        finally:
            engine.dispose()
        return org.id, email


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`crm run` exited early:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the system did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def smtp_relay() -> SmtpRelay:
    relay = SmtpRelay()
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture(scope="session")
def system(migrated: Settings, tmp_path_factory, smtp_relay: SmtpRelay) -> System:
    folder = tmp_path_factory.mktemp("system")
    port = free_port()
    document = {
        # A vhost of its own, emptied first: the service tests' durable queues (the same names as
        # this system's) keep every event published after their consumers stopped, and this
        # system's sync would spend its first minutes applying thousands of them.
        "amqp_uri": fresh_vhost(migrated.amqp_uri, "system"),
        "data_dir": str(folder / "var"),
        "log_level": "INFO",
        "log_format": "json",
        # Nine processes live for the whole session beside the tests' own engines and the systems
        # some tests start: a small pool each keeps PostgreSQL under its 100 connections.
        "database": {"url": migrated.database.url, "pool_size": 4},
        "gateway": {
            "host": "127.0.0.1",
            "port": port,
            "cors_origins": [ALLOWED_ORIGIN],
            "trust_forwarded_for": True,
            "rpc_timeout_seconds": 10,
        },
        "auth": {"api_token_cache_seconds": 0},
        # Each process's metrics on a port of its own (metrics.port + i), as `crm run` prints them.
        "metrics": {"port": free_ports(16)},
        # The SMTP ingest listener of this system, on a port of its own.
        "mail": {"ingest_domain": "in.pomme.test"},
        # IMAP mailboxes: passwords encrypted with a key of this run; the IMAP tests put their
        # server's certificate at imap_ca_file (read at each connection).
        "mailin": {
            "smtp_port": free_port(),
            "secret_key": Fernet.generate_key().decode(),
            "imap_ca_file": str(folder / "imap-ca.pem"),
        },
        # Mobile sync's clock: tests write a number of seconds into this file to let time pass.
        "sync": {"clock_offset_file": str(folder / "sync-clock-offset")},
        # Providers are the sandbox, which posts its delivery events back to this gateway.
        "messaging": {
            "sandbox": True,
            "sandbox_port": free_port(),
            # Organisations whose provider is SMTP send to a relay of the tests' own.
            "smtp": {"host": "127.0.0.1", "port": smtp_relay.port},
        },
    }
    config_path = folder / "crm.yaml"
    config_path.write_text(yaml.safe_dump(document))
    log = folder / "crm-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "--config", str(config_path), "run"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base_url}/readyz", process, log)
        yield System(base_url, config_path, parse_settings(config_path.read_text()), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def org(system: System) -> dict:
    """A fresh organisation: its id, and its admin logged in."""
    org_id, email = system.bootstrap_org()
    return {"id": org_id, "admin_email": email, "admin": system.login(email)}


def create_user(admin: Api, **fields) -> dict:
    body = {"email": f"{unique('user')}@pomme.fr", "name": "Bruno Petit", "password": PASSWORD, **fields}
    response = admin.post("/api/v1/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()
