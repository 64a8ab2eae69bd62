"""Run the SMTP ingest listener as the real process (``python -m services.mailin.smtp``) on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from crm.ids import new_id
from crm.settings import Settings
from crm.times import utcnow
from services.mailin.models import IngestAddress

INGEST_DOMAIN = "in.crm.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(settings: Settings, folder: Path, **mailin: Any) -> tuple[Path, Settings]:
    """A configuration file for the listener and the mailin service sharing ``settings``' database."""
    document = settings.model_dump(mode="json")
    document["mail"] = {"ingest_domain": INGEST_DOMAIN}
    document["mailin"] = {**document["mailin"], "smtp_port": free_port(), **mailin}
    path = folder / f"mailin-{new_id()}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path, Settings.model_validate(document)


class ListenerProcess:
    """The listener in a process of its own, started, stopped or killed (-9) by the test."""

    def __init__(self, config_path: Path, settings: Settings):
        self.config_path = config_path
        self.settings = settings
        self.process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return self.settings.mailin.smtp_port

    def start(self, timeout: float = 20.0) -> ListenerProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.mailin.smtp", "--config", str(self.config_path)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the SMTP listener exited with status {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP listener did not start listening")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def add_ingest_address(
    engine: Engine, local_part: str, *, org_id: str | None = None, active: bool = True
) -> tuple[str, str]:
    """A user's ingest address in mailin's own table, as accounts' events would have left it."""
    org_id = org_id or new_id()
    user_id = new_id()
    with engine.begin() as connection:
        connection.execute(
            IngestAddress.__table__.insert().values(
                user_id=user_id,
                org_id=org_id,
                local_part=local_part,
                active=active,
                address_changed_at=utcnow(),
                user_version=1,
                updated_at=utcnow(),
            )
        )
    return org_id, user_id
