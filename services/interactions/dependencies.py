"""interactions' own dependency providers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import eventlet
from kombu import Connection, Consumer, Queue, binding
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

from crm.auth import Caller
from crm.lru import Lru
from crm.outbox import event_exchange
from crm.rpc import drain_forever
from services.interactions.live_references import ARCHIVE_EVENTS, LiveReferences

log = logging.getLogger(__name__)

CALLERS_KEPT = 10_000


class CallerUsers(DependencyProvider):
    """The caller as ``accounts.get_user`` describes them (name, time zone, hourly cost), kept
    by this process under the caller's user id and version.

    Every change of a user makes a new version, and the process hears of it within a second
    (``crm.revocation``; ``Caller.user_version`` is then the new one): a note's stamp, a timer's
    cost or a template's tags use the caller as accounts has them now, without an RPC per write.
    """

    def setup(self) -> None:
        self.known: Lru[tuple[str, int], dict[str, Any]] = Lru(CALLERS_KEPT)

    def get_dependency(self, worker_ctx: Any) -> CallerUserLookup:
        return CallerUserLookup(self.known)


class CallerUserLookup:
    """What a worker sees as ``self.caller_users``."""

    def __init__(self, known: Lru[tuple[str, int], dict[str, Any]]):
        self._known = known

    def of(self, caller: Caller, accounts: Any) -> dict[str, Any]:
        """``accounts.get_user(caller.user_id)`` (``accounts``: the RPC client, with the caller's
        token), asked once per version of the caller; the answer is not to be changed."""
        key = (caller.user_id, caller.user_version)
        user = self._known.get(key)
        if user is None:
            user = accounts.get_user(caller.user_id)
            # Kept only when it is the version the token (or a change heard since) names: a newer
            # answer is a change this process has not heard of yet, an older one cannot be.
            if user.get("version") == caller.user_version:
                self._known[key] = user
        return user


class LiveReferenceWatch(DependencyProvider):
    """This process's ``LiveReferences``, kept current by a queue of its own (one per process,
    so every process of the service hears every archive) bound to contacts' archive events."""

    def setup(self) -> None:
        self.references = LiveReferences()
        self._thread: Any = None

    def start(self) -> None:
        self._thread = eventlet.spawn(self._watch_forever)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        self.references.listen(False)

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> LiveReferences:
        return self.references

    def _queue(self) -> Queue:
        exchange = event_exchange("contacts")
        name = f"crm.live-references.{self.container.service_name}.{uuid.uuid4().hex}"
        bindings = [binding(exchange, routing_key=event_type) for event_type in ARCHIVE_EVENTS]
        return Queue(name, bindings=bindings, exclusive=True, auto_delete=True, durable=False)

    def _on_message(self, body: Any, message: Any) -> None:
        try:
            self.references.heard(message.delivery_info["routing_key"], body)
        except (KeyError, TypeError) as exc:
            log.error("archive event not understood, forgetting every live reference: %s", exc)
            self.references.listen(False)
            self.references.listen(True)

    def _watch_forever(self) -> None:
        while True:
            try:
                with Connection(self.container.config[AMQP_URI_CONFIG_KEY], heartbeat=30) as connection:
                    queue = self._queue()
                    with Consumer(connection, [queue], callbacks=[self._on_message], no_ack=True):
                        self.references.listen(True)  # the queue is bound: no archive is missed now
                        drain_forever(connection)
            except Exception as exc:  # broker away: every link is checked with contacts meanwhile
                self.references.listen(False)
                log.warning("not hearing contacts' archives, checking every link with contacts: %s", exc)
                eventlet.sleep(1)
