"""A phone for the sync tests: a stock WatermelonDB in Node.js (tests/js/watermelon_phone.mjs),
driven one JSON line per command over its stdin and stdout."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "js"
SCRIPT = JS / "watermelon_phone.mjs"
WATERMELON = JS / "node_modules" / "@nozbe" / "watermelondb"


def unavailable_reason() -> str | None:
    """Why the phone cannot run here, or None (CI installs node and `npm ci --prefix tests/js`)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not WATERMELON.is_dir():
        return "tests/js/node_modules lacks @nozbe/watermelondb (run `npm ci --prefix tests/js`)"
    return None


class PhoneError(RuntimeError):
    pass


def _is_conflict(answer: dict[str, Any]) -> bool:
    body = answer.get("body")
    return (
        answer.get("status") == 409
        and isinstance(body, dict)
        and str(body.get("type", "")).endswith("sync-conflict")
    )


class Phone:
    """One device: its own in-memory WatermelonDB, its own device id."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.device_id: str | None = None
        self.conflicts = 0  # 409 sync-conflict answers sync_until met and synced past
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            ["node", str(SCRIPT)],
            cwd=JS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        for line in self._process.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        """Sends one command and returns its answer (ok false is returned, not raised)."""
        if self._process.poll() is not None:
            raise PhoneError(f"the phone has exited:\n{self.stderr()}")
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            raise PhoneError(
                f"no answer to {command['cmd']} within {self.timeout}s:\n{self.stderr()}"
            ) from None
        if line is None:
            raise PhoneError(f"the phone exited during {command['cmd']}:\n{self.stderr()}")
        return json.loads(line)

    def _ok(self, command: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(command)
        if not answer.get("ok"):
            raise PhoneError(f"{command['cmd']} failed: {answer}")
        return answer

    def configure(self, base_url: str, token: str, device_id: str) -> None:
        self.device_id = device_id
        self._ok({"cmd": "configure", "base_url": base_url, "token": token, "device_id": device_id})

    def set_token(self, token: str) -> None:
        self._ok({"cmd": "set_token", "token": token})

    def sync(self) -> dict[str, Any]:
        """WatermelonDB's synchronize(): {ok: true, pull, push} or {ok: false, status, body, message}."""
        return self.call({"cmd": "sync"})

    def synced(self) -> dict[str, Any]:
        """A sync that must succeed."""
        answer = self.sync()
        if not answer.get("ok"):
            raise PhoneError(f"sync failed: {json.dumps(answer)[:3000]}")
        return answer

    def sync_to_push(self) -> dict[str, Any]:
        """Starts a sync that pulls, applies, and stops just before its push: {paused: true}
        (or the whole sync's answer with paused false when there was nothing to push)."""
        return self.call({"cmd": "sync", "pause_before_push": True})

    def resume(self) -> dict[str, Any]:
        """Lets the paused sync push; its answer, as `sync` gives it."""
        return self.call({"cmd": "resume"})

    def sync_until(self, done: Callable[[dict[str, dict[str, dict]]], bool], timeout: float = 30.0) -> dict:
        """Syncs until `done(tables)` holds (the server learns of web changes by events, a moment later).
        A 409 sync-conflict is met as an app meets it, by syncing again; `conflicts` counts them."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.sync()
            if not answer.get("ok"):
                if not _is_conflict(answer) or time.monotonic() > deadline:
                    raise PhoneError(f"sync failed: {json.dumps(answer)[:3000]}")
                self.conflicts += 1
            tables = self.tables()
            if (answer.get("ok") and done(tables)) or time.monotonic() > deadline:
                return tables
            time.sleep(0.3)

    def fail_next(self, phase: str, when: str) -> None:
        """The next sync's pull or push fails: before the request, or after it (the answer is lost)."""
        self._ok({"cmd": "fail_next", "phase": phase, "when": when})

    def install(
        self, without_tables: list[str] = (), without_columns: dict[str, list[str]] | None = None
    ) -> None:
        """A fresh database of an older app: schema version 1 without these tables and columns."""
        without = {"tables": list(without_tables), "columns": without_columns or {}}
        self._ok({"cmd": "install", "without": without})

    def upgrade(self) -> None:
        """The app's next version (2): WatermelonDB migrations add what `install` left out."""
        self._ok({"cmd": "upgrade"})

    def create(self, table: str, raw: dict[str, Any]) -> dict[str, Any]:
        return self._ok({"cmd": "create", "table": table, "raw": raw})["raw"]

    def update(self, table: str, record_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        return self._ok({"cmd": "update", "table": table, "id": record_id, "raw": raw})["raw"]

    def delete(self, table: str, record_id: str) -> None:
        self._ok({"cmd": "delete", "table": table, "id": record_id})

    def dump(self) -> dict[str, Any]:
        return self._ok({"cmd": "dump"})

    def tables(self) -> dict[str, dict[str, dict]]:
        """Every table's records by id, each raw with its `_status` (`synced`, `created`, ...)."""
        return {
            table: {raw["id"]: raw for raw in records} for table, records in self.dump()["tables"].items()
        }

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self._process.stdin.close()
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._stderr.close()
