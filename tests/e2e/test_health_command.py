"""`crm health PROCESS`, the compose health checks: 0 when the process kind is ready, else one
line saying why and status 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.e2e.conftest import free_port


def _health(config_path, process: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "--config", str(config_path), "health", process, "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("process", ["contacts", "gateway", "mailin-smtp"])
def test_each_kind_of_process_of_a_running_system_is_ready(system, process):
    result = _health(system.config_path, process)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{process}: ready"


@pytest.mark.parametrize(
    ("process", "why"),
    [
        ("contacts", "unreachable: "),
        ("gateway", "/readyz: "),
        ("mailin-smtp", "SMTP at 127.0.0.1:"),
    ],
)
def test_a_process_that_cannot_be_reached_is_one_line_and_status_1(tmp_path, process, why):
    config = tmp_path / "crm.yaml"
    document = {
        "amqp_uri": "amqp://guest:guest@127.0.0.1:1/",
        "gateway": {"port": free_port()},
        "mailin": {"smtp_port": free_port()},
    }
    config.write_text(yaml.safe_dump(document))

    result = _health(config, process)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"crm: {process} is not ready: ")
    assert why in lines[0]
