"""The tests run on a RabbitMQ vhost of their own: a `crm run` on the broker's default vhost
never sees, let alone answers, their calls."""

from __future__ import annotations

import os

from kombu import Connection, Exchange, Queue

from tests.broker import vhost_of


def test_a_crm_run_on_the_default_vhost_never_sees_the_tests_calls(system, org, amqp_uri):
    broker_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    assert vhost_of(amqp_uri) != vhost_of(broker_uri)
    # What the accounts service of another `crm run` on the default vhost would consume.
    impostor = Queue(
        "rpc-accounts-impostor-of-the-tests",
        exchange=Exchange("nameko-rpc", type="topic", durable=True),
        routing_key="accounts.*",
        auto_delete=True,
    )
    with Connection(broker_uri) as connection:
        channel = connection.default_channel
        bound = impostor(channel)
        bound.declare()
        try:
            bound.purge()
            assert org["admin"].get("/api/v1/me").status_code == 200
            assert bound.get(no_ack=True) is None
        finally:
            bound.delete()
