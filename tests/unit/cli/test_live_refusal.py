"""`crm serve`, `crm run` and the SMTP listener refuse to start live with a published secret:
one line naming the setting, status 1, before they reach for the broker or the database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

# Live, with RabbitMQ's guest password and no key passphrase; the broker and the database are
# on ports where nothing listens, so an answer about them would mean the check came too late.
LIVE_WITH_DEFAULTS = {
    "amqp_uri": "amqp://guest:guest@127.0.0.1:1/",
    "database": {"url": "postgresql://crm:Pomme-Siege-Central@127.0.0.1:1/crm"},
    "messaging": {
        "sandbox": False,
        "twilio": {"auth_token": "f3a9c1d2e4b5"},
        "mailjet": {"webhook_password": "ruelle-aux-lilas"},
    },
}


@pytest.mark.parametrize(
    "command",
    [["serve", "accounts"], ["serve", "gateway"], ["serve", "mailin-smtp"], ["run"]],
    ids=lambda command: " ".join(command),
)
def test_live_with_a_published_secret_exits_with_one_line_naming_it(tmp_path, command):
    config = tmp_path / "crm.yaml"
    config.write_text(yaml.safe_dump({**LIVE_WITH_DEFAULTS, "data_dir": str(tmp_path)}))

    result = subprocess.run(
        [sys.executable, "-m", "cli", "--config", str(config), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={key: value for key, value in os.environ.items() if key != "CRM_CONFIG"},
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crm: refusing to run live (messaging.sandbox: false) with published defaults")
    assert "amqp_uri: RabbitMQ password 'guest' is a published default" in lines[0]
    assert "auth.key_passphrase: empty" in lines[0]
    assert "Pomme-Siege-Central" not in result.stderr
