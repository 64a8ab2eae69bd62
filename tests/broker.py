"""The tests' own RabbitMQ virtual host, so a ``crm run`` on the same broker never answers them.

``AMQP_URI`` names the broker; the tests use the vhost ``CRM_TEST_VHOST``
(``crm-test`` by default) on it, created with ``rabbitmqctl`` when missing.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from kombu import Connection, Producer

from crm.outbox import event_exchange

DEFAULT_TEST_VHOST = "crm-test"


def with_vhost(amqp_uri: str, vhost: str) -> str:
    """``amqp_uri`` pointing at ``vhost`` instead of its own."""
    parts = urlsplit(amqp_uri)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


def vhost_of(amqp_uri: str) -> str:
    path = urlsplit(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def _reachable(amqp_uri: str) -> bool:
    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def ensure_vhost(amqp_uri: str) -> str:
    """Make sure the vhost of ``amqp_uri`` exists and its user may use it; returns the URI."""
    if _reachable(amqp_uri):
        return amqp_uri
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        raise RuntimeError(
            f"the RabbitMQ vhost {vhost_of(amqp_uri)!r} is missing and rabbitmqctl is not here to make it: "
            f"rabbitmqctl add_vhost {vhost_of(amqp_uri)}"
        )
    vhost = vhost_of(amqp_uri)
    user = unquote(urlsplit(amqp_uri).username or "guest")
    subprocess.run([rabbitmqctl, "add_vhost", vhost], check=False, capture_output=True, timeout=60)
    subprocess.run(
        [rabbitmqctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    if not _reachable(amqp_uri):
        raise RuntimeError(f"cannot reach the RabbitMQ vhost {vhost!r} at {amqp_uri}")
    return amqp_uri


def publish_event(amqp_uri: str, service: str, event: dict[str, Any]) -> None:
    """``event`` on ``service``'s events exchange, as its outbox relay would publish it."""
    publish_events(amqp_uri, service, [event])


def publish_events(amqp_uri: str, service: str, events: list[dict[str, Any]]) -> None:
    """``events`` on ``service``'s events exchange, one after the other on one connection."""
    exchange = event_exchange(service)
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.channel())
        for event in events:
            producer.publish(
                event,
                exchange=exchange,
                routing_key=event["event_type"],
                serializer="json",
                declare=[exchange],
            )


def fresh_vhost(amqp_uri: str, suffix: str) -> str:
    """An empty RabbitMQ vhost named after ``amqp_uri``'s with ``suffix``: no queue or message
    left by an earlier run."""
    uri = with_vhost(amqp_uri, f"{vhost_of(amqp_uri)}-{suffix}")
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl:
        subprocess.run([rabbitmqctl, "delete_vhost", vhost_of(uri)], capture_output=True, timeout=60)
    return ensure_vhost(uri)
