"""The `crm` command explains an unreachable broker or database in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml

from crm.settings import parse_settings
from tests.broker import ensure_vhost, vhost_of, with_vhost
from tests.e2e.conftest import PASSWORD, System, _wait_ready, free_port
from tests.e2e.fleet import fresh_database


def _crm(tmp_path, document: dict, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "crm.yaml"
    config.write_text(yaml.safe_dump(document))
    return subprocess.run(
        [sys.executable, "-m", "cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


def test_unreachable_rabbitmq_is_one_clear_line(tmp_path):
    result = _crm(
        tmp_path,
        {"amqp_uri": "amqp://guest:guest@127.0.0.1:1/", "data_dir": str(tmp_path)},
        "serve",
        "accounts",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crm: cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1")
    assert "rabbitmq-server -detached" in lines[0]


def test_unreachable_database_is_one_clear_line(tmp_path, settings):
    result = _crm(
        tmp_path,
        {"amqp_uri": settings.amqp_uri, "database": {"url": "postgresql://crm:secret@127.0.0.1:1/crm"}},
        "migrate",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "crm: cannot reach the accounts database at postgresql://crm:***@127.0.0.1:1/crm"
    )
    assert "secret" not in result.stderr


def test_bad_configuration_names_the_key(tmp_path):
    result = _crm(tmp_path, {"gateway": {"port": "huit mille"}}, "migrate")
    assert result.returncode == 1
    assert "gateway.port" in result.stderr and "Traceback" not in result.stderr


def test_version_is_printed(tmp_path):
    result = _crm(tmp_path, {}, "--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "crm, version 0.1.0"


def _broker_line(tmp_path, amqp_uri: str) -> str:
    result = _crm(tmp_path, {"amqp_uri": amqp_uri, "data_dir": str(tmp_path)}, "serve", "accounts")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_wrong_rabbitmq_password_is_reported_as_refused_not_as_down(tmp_path, settings):
    parts = urlsplit(settings.amqp_uri)
    wrong = urlunsplit(
        parts._replace(netloc=f"{parts.username}:pas-le-bon@{parts.hostname}:{parts.port or 5672}")
    )
    line = _broker_line(tmp_path, wrong)

    assert "refused the user name or password" in line
    assert "pas-le-bon" not in line and "rabbitmq-server -detached" not in line


def test_a_missing_rabbitmq_vhost_is_reported_naming_it(tmp_path, settings):
    line = _broker_line(tmp_path, with_vhost(settings.amqp_uri, "crm-pas-de-vhost"))

    assert "refused the vhost 'crm-pas-de-vhost'" in line
    assert "rabbitmqctl add_vhost crm-pas-de-vhost" in line


def test_a_mysql_database_url_is_refused_on_one_line(tmp_path):
    result = _crm(tmp_path, {"database": {"url": "mysql://root:secret@localhost/crm"}}, "migrate")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: configuration has bad values: database.url: mysql databases are not supported: "
        "use a postgresql:// or sqlite:/// URL"
    ]


def test_a_taken_sandbox_port_is_one_line_naming_the_setting(tmp_path):
    with socket.socket() as taken:
        # As another system's sandbox holds it (eventlet sets SO_REUSEPORT by default).
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _crm(tmp_path, {"data_dir": str(tmp_path), "messaging": {"sandbox_port": port}}, "sandbox")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"crm: port {port} (messaging.sandbox_port) is already in use, perhaps by another `crm run`; "
        "give each system on this machine its own messaging.sandbox_port"
    ]


def test_bootstrap_without_a_terminal_asks_for_the_password_option_instead_of_aborting(tmp_path):
    config = tmp_path / "crm.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path)}))
    env = {name: value for name, value in os.environ.items() if name != "CRM_ADMIN_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "--config", str(config), "admin", "bootstrap", "--org", "Pomme"]
        + ["--email", "alice@pomme.fr"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )

    assert result.returncode == 2
    assert "no terminal to ask the password on: give --password or set CRM_ADMIN_PASSWORD" in result.stderr
    assert "Aborted" not in result.stderr
    assert not list(tmp_path.glob("*.db"))


def test_bootstrap_from_a_folder_without_configuration_or_data_refuses_instead_of_creating_one(tmp_path):
    unset = {"CRM_CONFIG", "CRM_DATA_DIR", "CRM_DATABASE_URL"}
    env = {name: value for name, value in os.environ.items() if name not in unset}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "admin", "bootstrap", "--org", "Pomme", "--email", "alice@pomme.fr"]
        + ["--password", "Pomme-2026-secret"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )

    assert result.returncode == 2
    assert "no crm.yaml here and no accounts database at var/accounts.db" in result.stderr
    assert not (tmp_path / "var").exists()


def test_migrate_check_says_which_databases_are_behind_and_changes_nothing(tmp_path):
    document = {"data_dir": str(tmp_path), "services": ["accounts", "notifier"]}

    behind = _crm(tmp_path, document, "migrate", "--check")
    _crm(tmp_path, document, "migrate")
    current = _crm(tmp_path, document, "migrate", "--check")

    assert behind.returncode == 1
    assert behind.stdout.startswith("accounts: behind (database at nothing, code at ")
    assert behind.stderr.strip() == "crm: run `crm migrate` to bring accounts, notifier up to date"
    assert current.returncode == 0, current.stderr
    assert [line.split(":")[0] for line in current.stdout.splitlines()] == ["accounts", "notifier"]
    assert all(": up to date (" in line for line in current.stdout.splitlines())


def test_migrate_check_reads_each_service_s_own_database_or_postgresql_schema(tmp_path, migrated):
    document = {
        "amqp_uri": migrated.amqp_uri,
        "data_dir": migrated.data_dir,
        "database": {"url": migrated.database.url},
    }

    result = _crm(tmp_path, document, "migrate", "--check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "behind" not in result.stdout


def _children(pid: int) -> dict[int, list[str]]:
    """The processes ``pid`` started, with their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found[int(entry.name)] = (entry / "cmdline").read_text().split("\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def _cpu_ticks(pid: int) -> int:
    """User plus system time of ``pid`` so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_run_processes_starts_that_many_processes_of_a_service_and_they_share_its_work(tmp_path, migrated):
    if not migrated.database.url.startswith("postgresql"):
        pytest.skip("several processes of a service need PostgreSQL (TEST_DATABASE_URL)")
    # A broker vhost and a database of its own: no other system of the tests' takes its calls or
    # relays its outbox.
    amqp_uri = ensure_vhost(with_vhost(migrated.amqp_uri, vhost_of(migrated.amqp_uri) + "-processes"))
    database_url = fresh_database(migrated.database.url, "processes")
    port = free_port()
    document = {
        "amqp_uri": amqp_uri,
        "data_dir": str(tmp_path / "var"),
        "log_level": "WARNING",
        "database": {"url": database_url},
        "services": ["accounts", "gateway", "contacts"],
        "gateway": {"host": "127.0.0.1", "port": port, "rpc_timeout_seconds": 10},
        "run": {"processes": {"contacts": 2, "gateway": 2}},
    }
    config = tmp_path / "crm.yaml"
    config.write_text(yaml.safe_dump(document))
    log = tmp_path / "crm-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "--config", str(config), "run"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
        system = System(f"http://127.0.0.1:{port}", config, parse_settings(config.read_text()))
        _, email = system.bootstrap_org()
        token = system.login(email, PASSWORD).token
        children = _children(process.pid)
        by_service: dict[str, list[int]] = {}
        for pid, command in children.items():
            by_service.setdefault(command[command.index("serve") + 1], []).append(pid)
        assert {name: len(pids) for name, pids in by_service.items()} == {
            "accounts": 1,
            "gateway": 2,
            "contacts": 2,
        }
        assert "CRM running: accounts, gateway x2, contacts x2" in log.read_text()

        before = {pid: _cpu_ticks(pid) for pid in by_service["gateway"] + by_service["contacts"]}
        for n in range(150):
            # A new connection each time: the kernel spreads them over the gateway processes.
            response = requests.post(
                f"http://127.0.0.1:{port}/api/v1/contacts",
                json={"first_name": "Léa", "last_name": f"Moreau {n}", "email": f"lea.{n}@pomme.fr"},
                headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
        spent = {pid: _cpu_ticks(pid) - ticks for pid, ticks in before.items()}
        for service in ("gateway", "contacts"):
            first, second = (spent[pid] for pid in by_service[service])
            # One process idle while the other did everything would be well under a fifth.
            assert min(first, second) >= (first + second) / 5, (service, first, second)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert process.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
