"""A process's revocation watch on the real broker: it hears revocations on a queue of its own,
and after losing the broker it refuses tokens until it has reconnected and reloaded."""

from __future__ import annotations

import socket
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.rpc import ClusterRpcProxy

from crm.auth import CallerProvider
from crm.errors import ServiceUnavailable, Unauthenticated
from crm.outbox import event_exchange
from crm.rpc import rpc

SIGNING_KEY = Ed25519PrivateKey.generate()
snapshots_loaded: list[float] = []


def _snapshot(config) -> dict:
    snapshots_loaded.append(time.monotonic())
    return {"sessions": [], "users": []}


class Guarded:
    name = "revocation_watch_probe"
    caller = CallerProvider(
        load_keys=lambda config: {"k1": SIGNING_KEY.public_key()}, load_revocations=_snapshot
    )

    @rpc
    def whoami(self) -> str:
        return self.caller.user().user_id


def _token(settings, session_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.auth.issuer,
        "aud": "crm",
        "sub": "u-chloe",
        "org": "org-pomme",
        "role": "member",
        "sid": session_id,
        "uv": 1,
        "iat": now,
        "exp": now + 900,
    }
    return jwt.encode(claims, SIGNING_KEY, algorithm="EdDSA", headers={"kid": "k1"})


def _whoami(settings, token: str) -> str:
    with ClusterRpcProxy(
        settings.nameko_config(), context_data={"access_token": token}, timeout=5
    ) as cluster:
        return cluster.revocation_watch_probe.whoami()


def _watch(container):
    (provider,) = [dep for dep in container.dependencies if isinstance(dep, CallerProvider)]
    return provider.revocations


def _publish_revocation(settings, session_id: str) -> None:
    from kombu import Connection, Producer

    exchange = event_exchange("accounts")
    with Connection(settings.amqp_uri) as connection:
        Producer(connection.channel()).publish(
            {
                "event_id": "e1",
                "event_type": "sessions_revoked",
                "org_id": "org-pomme",
                "record": {
                    "user_id": "u-chloe",
                    "session_ids": [session_id],
                    "revoked_at": "2026-12-06T09:30:00+00:00",
                },
            },
            exchange=exchange,
            routing_key="sessions_revoked",
            serializer="json",
            declare=[exchange],
        )


def test_a_revocation_published_by_accounts_reaches_the_process(settings, container_factory):
    container = container_factory(Guarded, settings.nameko_config())
    container.start()
    token = _token(settings, "s-chloe-phone")
    assert _whoami(settings, token) == "u-chloe"
    _publish_revocation(settings, "s-chloe-phone")
    deadline = time.monotonic() + 1
    while True:
        try:
            _whoami(settings, token)
        except Unauthenticated:
            break
        assert time.monotonic() < deadline, "the revocation did not arrive within a second"


def test_after_losing_the_broker_the_process_refuses_until_it_has_reloaded(settings, container_factory):
    container = container_factory(Guarded, settings.nameko_config())
    container.start()
    watch = _watch(container)
    token = _token(settings, "s-chloe-laptop")
    assert _whoami(settings, token) == "u-chloe"
    loads_before = len(snapshots_loaded)
    # The broker connection drops, as when RabbitMQ restarts.
    watch.connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + 30  # it notices at its next read, then waits a second
    seen_refusal = False
    while len(snapshots_loaded) == loads_before or not watch.loaded:
        seen_refusal = seen_refusal or not watch.loaded
        assert time.monotonic() < deadline, "the watch did not reconnect"
        time.sleep(0.01)
    assert seen_refusal
    assert _whoami(settings, token) == "u-chloe"


def test_while_not_loaded_every_token_is_refused(settings, container_factory):
    container = container_factory(Guarded, settings.nameko_config())
    container.start()
    _watch(container).state.loaded = False  # what losing the broker does until the reload
    with pytest.raises(ServiceUnavailable, match="revoked"):
        _whoami(settings, _token(settings, "s-chloe-tablet"))
