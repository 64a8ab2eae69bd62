"""The webhook courier: posts the emulations' webhooks after the request answered.

Webhooks go out from a few background threads, so that the request path stays
cheap; those of one message (one key) go through one thread, in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests

from emulations.http import SANDBOX_HEADER


@dataclass(frozen=True)
class Delivery:
    """One webhook the sandbox posted, and how the receiver answered."""

    url: str
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True)
class Webhook:
    url: str
    body: bytes
    headers: dict[str, str]
    auth: tuple[str, str] | None = None


class Courier:
    """Posts webhooks from background threads; those sharing a key go through one thread, in order."""

    def __init__(self, workers: int, timeout_seconds: float):
        self._workers = max(1, workers)
        self._timeout = timeout_seconds
        self._queues: list[queue.Queue[Callable[[], Webhook] | None]] = []
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition()
        self._deliveries: list[Delivery] = []

    def post(self, key: str, build: Callable[[], Webhook]) -> None:
        with self._idle:
            self._pending += 1
        self._start()
        self._queues[hash(key) % self._workers].put(build)

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def deliveries(self) -> list[Delivery]:
        with self._idle:
            return list(self._deliveries)

    def stop(self) -> None:
        with self._start_lock:
            for jobs in self._queues:
                jobs.put(None)
            for thread in self._threads:
                thread.join(timeout=self._timeout + 1)
            self._queues, self._threads = [], []
        with self._idle:
            self._pending = 0
            self._idle.notify_all()

    def _start(self) -> None:
        # Threads start with the first webhook, not in a constructor.
        with self._start_lock:
            if self._threads:
                return
            self._queues = [queue.Queue() for _ in range(self._workers)]
            self._threads = [
                threading.Thread(target=self._run, args=(jobs,), name=f"sandbox-courier-{n}", daemon=True)
                for n, jobs in enumerate(self._queues)
            ]
            for thread in self._threads:
                thread.start()

    def _run(self, jobs: queue.Queue[Callable[[], Webhook] | None]) -> None:
        with requests.Session() as session:
            # Webhooks go to this machine's gateway: no proxies or CA bundle from the environment
            # (and no scan of os.environ on every post).
            session.trust_env = False
            while (build := jobs.get()) is not None:
                try:
                    delivery = self._deliver(session, build())
                except Exception as error:  # a webhook that cannot even be built must not stop the courier
                    delivery = Delivery("", None, f"{type(error).__name__}: {error}")
                with self._idle:
                    self._deliveries.append(delivery)
                    self._pending -= 1
                    if self._pending <= 0:
                        self._idle.notify_all()

    def _deliver(self, session: requests.Session, webhook: Webhook) -> Delivery:
        headers = {**webhook.headers, SANDBOX_HEADER: "true"}
        try:
            response = session.post(
                webhook.url, data=webhook.body, headers=headers, auth=webhook.auth, timeout=self._timeout
            )
        except requests.RequestException as error:
            return Delivery(webhook.url, None, str(error))
        return Delivery(webhook.url, response.status_code)
