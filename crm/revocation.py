"""Revoked access, known by every process within a second of the revocation.

Verifying an access token's signature is not enough: a logout, a detected
refresh-token theft, a deactivation, a demotion, a read-only switch, a
password change or reset and an API-token revocation must stop that access at
once, everywhere. ``accounts`` announces each of them as an event:

- ``sessions_revoked``: these login sessions (``sid`` in the token) are over;
- ``user_updated``, ``user_deactivated``, ``user_reactivated``: the user's
  role, read-only flag and active flag as they are now, with the user's version.

Every process keeps the small deny state in memory (``DenyState``), fed by a
queue of its own (``RevocationWatch``: one per process, not one per service,
so several processes of one service each hear every revocation). At start,
and after losing the broker, it binds that queue first and then loads what
was revoked before (``accounts.get_revocations``); until it has, it refuses
every token rather than guess. An entry is kept only while a token issued
before it could still be alive: access tokens live ``auth.access_token_ttl_seconds``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import eventlet
from eventlet.event import Event
from kombu import Connection, Consumer, Queue, binding
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import SharedExtension

from crm.errors import ServiceUnavailable, Unauthenticated
from crm.outbox import event_exchange
from crm.rpc import drain_forever

log = logging.getLogger(__name__)

SESSIONS_REVOKED = "sessions_revoked"
USER_ACCESS_EVENTS = ("user_updated", "user_deactivated", "user_reactivated")
REVOCATION_EVENTS = (SESSIONS_REVOKED, *USER_ACCESS_EVENTS)
# Clocks of two machines may disagree this much: entries are kept that much longer.
CLOCK_SKEW_SECONDS = 60
STARTUP_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class UserAccess:
    """A user's access as ``accounts`` holds it now; it overrides older tokens' claims."""

    version: int
    role: str
    read_only: bool
    active: bool
    keep_until: float


def _timestamp(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


class DenyState:
    """Revoked sessions and changed users, each for as long as an older token may live.

    Every change only adds what is newer, so events and the start-up snapshot
    may arrive in any order and more than once: the result is the same.
    """

    def __init__(self, token_ttl_seconds: int, clock: Callable[[], float] = time.time):
        self._keep_seconds = token_ttl_seconds + CLOCK_SKEW_SECONDS
        self._clock = clock
        self._sessions: dict[str, float] = {}  # session id -> keep until
        self._users: dict[str, UserAccess] = {}
        self._next_prune = 0.0
        self.loaded = False

    def revoke_sessions(self, session_ids: list[str], revoked_at: str) -> None:
        keep_until = _timestamp(revoked_at) + self._keep_seconds
        for session_id in session_ids:
            self._sessions[session_id] = max(keep_until, self._sessions.get(session_id, 0.0))

    def change_user(self, record: dict[str, Any]) -> None:
        """Keep the user's access from ``record`` (a user as accounts' events carry it)."""
        known = self._users.get(record["id"])
        if known is not None and known.version >= record["version"]:
            return
        self._users[record["id"]] = UserAccess(
            version=int(record["version"]),
            role=str(record["role"]),
            read_only=bool(record["read_only"]),
            active=bool(record["active"]),
            keep_until=_timestamp(record["updated_at"]) + self._keep_seconds,
        )

    def apply_event(self, event_type: str, record: dict[str, Any]) -> None:
        if event_type == SESSIONS_REVOKED:
            self.revoke_sessions(list(record["session_ids"]), record["revoked_at"])
        elif event_type in USER_ACCESS_EVENTS:
            self.change_user(record)

    def apply_snapshot(self, snapshot: dict[str, Any]) -> None:
        """What ``accounts.get_revocations`` answers: every revocation still worth knowing."""
        for revoked in snapshot["sessions"]:
            self.revoke_sessions([revoked["session_id"]], revoked["revoked_at"])
        for user in snapshot["users"]:
            self.change_user(user)

    def admit(self, caller: Any) -> Any:
        """``caller`` as it may act now: refused if revoked, with the current role and flag."""
        if not self.loaded:
            raise ServiceUnavailable("this service does not know yet which accesses were revoked; try again")
        now = self._clock()
        if now >= self._next_prune:
            self._prune(now)
        if caller.session_id in self._sessions:
            raise Unauthenticated("this session has been signed out; log in again")
        access = self._users.get(caller.user_id)
        if access is None or access.version <= caller.user_version:
            return caller  # the token is as recent as anything we know of its user
        if not access.active:
            raise Unauthenticated("this user is deactivated")
        # The later change's role, flag and version override the token's (a cache of what
        # accounts says of the caller keys on the version: ``Caller.user_version``).
        return replace(caller, role=access.role, read_only=access.read_only, user_version=access.version)

    def _prune(self, now: float) -> None:
        self._sessions = {key: until for key, until in self._sessions.items() if until > now}
        self._users = {key: access for key, access in self._users.items() if access.keep_until > now}
        self._next_prune = now + 60

    def __len__(self) -> int:
        return len(self._sessions) + len(self._users)


def load_snapshot_over_rpc(config: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Ask ``accounts`` for every revocation a token alive now could be subject to."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy(config, timeout=timeout) as cluster:
        return cluster.accounts.get_revocations()


class RevocationWatch(SharedExtension):
    """Keeps this process's ``DenyState`` current from a queue of its own."""

    def __init__(self, load_snapshot: Callable[[dict[str, Any]], dict[str, Any]] | None = None):
        super().__init__()
        self._load_snapshot = load_snapshot or load_snapshot_over_rpc
        self.state: DenyState | None = None
        self._thread: Any = None
        self._first_load = Event()
        self.connection: Connection | None = None  # while connected; tests break it on purpose

    def setup(self) -> None:
        settings = self.container.config["CRM"]
        self.state = DenyState(settings.auth.access_token_ttl_seconds)

    def start(self) -> None:
        self._thread = eventlet.spawn(self._watch_forever)
        # Give the first load a moment, so a process that starts with its peers up admits
        # callers from its first request; if accounts is not there yet, it refuses until it is.
        self.wait_loaded(STARTUP_WAIT_SECONDS)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    kill = stop

    @property
    def loaded(self) -> bool:
        return self.state is not None and self.state.loaded

    def admit(self, caller: Any) -> Any:
        """``DenyState.admit`` of this process's state."""
        if self.state is None:
            raise ServiceUnavailable("this service does not know yet which accesses were revoked; try again")
        return self.state.admit(caller)

    def wait_loaded(self, timeout: float) -> bool:
        """For tests and start-up checks: wait until the state is known."""
        with eventlet.Timeout(timeout, False):
            self._first_load.wait()
        return self.loaded

    def _queue(self) -> Queue:
        exchange = event_exchange("accounts")
        name = f"crm.revocations.{self.container.service_name}.{uuid.uuid4().hex}"
        bindings = [binding(exchange, routing_key=event_type) for event_type in REVOCATION_EVENTS]
        return Queue(name, bindings=bindings, exclusive=True, auto_delete=True, durable=False)

    def _on_message(self, body: Any, message: Any) -> None:
        try:
            self.state.apply_event(message.delivery_info["routing_key"], body["record"])
        except (KeyError, TypeError, ValueError) as exc:
            log.error("revocation event not understood, ignored: %s", exc)

    def _watch_forever(self) -> None:
        config = self.container.config
        while True:
            try:
                with Connection(config[AMQP_URI_CONFIG_KEY], heartbeat=30, connect_timeout=5) as connection:
                    self.connection = connection
                    queue = self._queue()
                    with Consumer(connection, [queue], callbacks=[self._on_message], no_ack=True):
                        # The queue is bound before the snapshot is read, so nothing revoked in
                        # between is missed; applying both in any order gives the same state.
                        self.state.apply_snapshot(self._load_snapshot(config))
                        self.state.loaded = True
                        if not self._first_load.ready():
                            self._first_load.send(True)
                        drain_forever(connection)
            except Exception as exc:  # broker or accounts away: refuse until known again
                if self.state.loaded:
                    log.warning("revocations unknown until the broker is back, refusing tokens: %s", exc)
                else:
                    log.warning("cannot load revocations yet, refusing tokens: %s", exc)
                self.state.loaded = False
                eventlet.sleep(1)
