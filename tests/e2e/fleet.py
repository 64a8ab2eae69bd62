"""Processes of the system started one by one with `crm serve`, as an operator scaling out does, so
that a test can kill any one of them (`crm run` stops everything when one of its children dies)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from sqlalchemy import create_engine, text


class Fleet:
    """Named `crm serve` processes, each with its own configuration file and log."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: dict[str, subprocess.Popen] = {}
        self.ended: set[str] = set()  # killed or stopped by the test

    def start(self, name: str, service: str, config: Path) -> None:
        """Start `crm serve service` under ``name``."""
        with self.log_path(name).open("w") as output:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "cli", "--config", str(config), "serve", service],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
            )

    def log_path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log_path(name).read_text()}" for name in self.processes)

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine or container dies."""
        self.ended.add(name)
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def pause(self, name: str) -> None:
        """SIGSTOP: the process holds whatever it has taken (requests, messages, locks) and
        does nothing more with it, until it is resumed or killed."""
        process = self.processes[name]
        process.send_signal(signal.SIGSTOP)
        stat = Path(f"/proc/{process.pid}/stat")
        # The signal is only queued when kill() returns: wait until the process is stopped.
        self.wait_until(lambda: stat.read_text().rsplit(")", 1)[1].split()[0] in "Tt", f"{name} paused")

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def stop(self, name: str, timeout: float = 30) -> int:
        """SIGTERM and wait: nameko lets the workers in flight finish first."""
        self.ended.add(name)
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused process takes SIGTERM only once resumed
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for name in self.processes:
            self.stop(name)

    def wait_until(
        self, condition: Callable[[], bool], what: str, timeout: float = 60, every: float = 0.05
    ) -> None:
        """Poll ``condition`` until it holds; fails naming ``what`` (with every log) at the
        deadline, or at once when a process of the fleet exited on its own."""
        deadline = time.monotonic() + timeout
        while not condition():
            exited = [n for n, p in self.processes.items() if n not in self.ended and p.poll() is not None]
            if exited:
                raise AssertionError(f"{', '.join(exited)} exited while waiting for {what}\n{self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout:g} s\n{self.logs()}")
            time.sleep(every)


def answers_ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def fresh_database(url: str, suffix: str) -> str:
    """An empty PostgreSQL database next to ``url``'s, named after it with ``suffix``."""
    base, name = url.rsplit("/", 1)
    fresh = f"{name}_{suffix}"
    engine = create_engine(
        f"{base}/postgres".replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{fresh}"'))
    engine.dispose()
    return f"{base}/{fresh}"
