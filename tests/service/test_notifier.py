"""The notifier service on the real broker and database: an invitation reaches the invitee's inbox."""

from __future__ import annotations

import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Consumer, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from crm.auth import CallerProvider
from crm.outbox import event_exchange
from services.notifier.service import NotifierService
from tests.broker import publish_events
from tests.people import BOB, KID
from tests.unit.notifier.events import invited
from tests.unit.notifier.harness import access_token, fresh_notifier_schema

SIGNING_KEY = Ed25519PrivateKey.generate()
INVITED_QUEUE = "evt-interactions-participant_invited--notifier.on_participant_invited"


class NotifierUnderTest(NotifierService):
    """The real service, verifying tokens with this test's key and no revocations instead of
    asking ``accounts``."""

    caller = CallerProvider(
        load_keys=lambda config: {KID: SIGNING_KEY.public_key()},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )


@pytest.fixture
def notifier_settings(settings):
    fresh_notifier_schema(settings)
    with Connection(settings.amqp_uri) as connection:  # leftovers of earlier runs
        connection.default_channel.queue_delete(INVITED_QUEUE)
    return settings


@pytest.fixture
def created_tap(notifier_settings):
    """A queue bound to the notifier's events, collecting ``notification_created``."""
    connection = Connection(notifier_settings.amqp_uri)
    queue = Queue(
        f"tap-{uuid.uuid4().hex}",
        exchange=event_exchange("notifier"),
        routing_key="notification_created",
        exclusive=True,
        auto_delete=True,
    )
    received: list[dict] = []

    def on_message(body, message):
        received.append(body)
        message.ack()

    consumer = Consumer(connection, [queue], callbacks=[on_message], accept=["json"])
    consumer.consume()
    yield connection, received
    connection.release()


def _publish(amqp_uri: str, *payloads: dict) -> None:
    publish_events(amqp_uri, "interactions", list(payloads))


def test_an_invitation_event_reaches_the_invitees_inbox_once(
    container_factory, notifier_settings, created_tap
):
    container = container_factory(NotifierUnderTest, notifier_settings.nameko_config())
    container.start()
    event = invited(BOB)

    _publish(notifier_settings.amqp_uri, event, event)

    token = access_token(notifier_settings, SIGNING_KEY, BOB)
    with ClusterRpcProxy(
        notifier_settings.nameko_config(), context_data={"access_token": token}, timeout=10
    ) as cluster:
        deadline = time.monotonic() + 10
        items: list[dict] = []
        while time.monotonic() < deadline and not items:
            items = cluster.notifier.list_notifications()["items"]
            time.sleep(0.05)
        time.sleep(0.5)  # let the duplicate arrive too
        items = cluster.notifier.list_notifications()["items"]
        assert [(n["kind"], n["source_event_id"]) for n in items] == [("invitation", event["event_id"])]
        assert cluster.notifier.unread_count() == {"unread": 1}
        assert cluster.notifier.mark_all_read() == {"marked": 1}

    connection, received = created_tap
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not received:
        try:
            connection.drain_events(timeout=0.2)
        except TimeoutError:
            pass
    assert [payload["record"]["id"] for payload in received] == [items[0]["id"]]
