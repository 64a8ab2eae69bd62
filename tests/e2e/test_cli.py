"""The `crm` command explains an unreachable broker or database in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml


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
