"""sync answers a calendar feed from the tokens accounts announced (real broker and database),
asking accounts only about a token it was never told of, and closes a feed once it hears of
a rotation or deactivation. ``accounts`` here is a small stand-in answering the fallback RPC."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook
from sqlalchemy import select

from crm.auth import CallerProvider
from crm.database import create_service_engine
from crm.rpc import RpcClient
from crm.times import utcnow
from services.sync.calendar_tokens import token_hash
from services.sync.exceptions import CalendarFeedNotFound
from services.sync.models import CalendarToken
from services.sync.service import SyncService
from tests.broker import fresh_vhost, publish_event
from tests.people import BOB, POMME

BOB_ID = BOB.user_id

STAND_IN = "accounts_stand_in_for_calendar_tokens"
TOKEN, UNTOLD = "cal_jeton-de-bob-annonce-par-accounts", "cal_jeton-fait-avant-la-mise-a-jour"


class SyncUnderTest(SyncService):
    """The real service; no caller here, so no keys or revocations to load from accounts. Its
    accounts is the stand-in, by a name of its own: an accounts of a system other tests of the
    session run on the broker must not answer."""

    caller = CallerProvider(
        load_keys=lambda config: {},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )
    accounts = RpcClient(STAND_IN)


class AccountsStandIn:
    """accounts' ``resolve_calendar_token``, knowing one token sync was never told of."""

    name = STAND_IN
    asked: list[str] = []

    @rpc
    def resolve_calendar_token(self, token: str) -> dict[str, str] | None:
        self.asked.append(token)
        return {"user_id": BOB_ID, "org_id": POMME} if token == UNTOLD else None


@pytest.fixture
def config(migrated) -> dict[str, Any]:
    """The containers' configuration on an empty vhost of their own: the shared one keeps, in
    sync's durable queues, events other service tests published while no sync ran, and a sync
    applying them mid-test changes the feed between two reads."""
    config = dict(migrated.nameko_config())
    config["AMQP_URI"] = fresh_vhost(config["AMQP_URI"], "calendar-tokens")
    return config


@pytest.fixture
def running(container_factory, migrated, config):
    """This sync's container (asked directly: a sync of another system may share the broker),
    and its database."""
    AccountsStandIn.asked = []
    container_factory(AccountsStandIn, config).start()
    sync = container_factory(SyncUnderTest, config)
    sync.start()
    engine = create_service_engine(migrated, "sync")
    yield sync, engine
    engine.dispose()


def announce(amqp_uri: str, hashed: str | None, version: int) -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "calendar_token_changed",
        "org_id": POMME,
        "occurred_at": utcnow().isoformat(),
        "actor_id": BOB_ID,
        "record": {
            "user_id": BOB_ID,
            "org_id": POMME,
            "token_hash": hashed,
            "changed_at": "2026-12-07T08:00:00+00:00",
            "version": version,
        },
    }
    publish_event(amqp_uri, "accounts", event)


def heard(engine, hashed: str | None) -> None:
    deadline = time.time() + 5
    while time.time() < deadline:
        with engine.connect() as connection:
            query = select(CalendarToken.token_hash).where(CalendarToken.user_id == BOB_ID)
            if connection.scalar(query) == hashed:
                return
        time.sleep(0.05)
    raise AssertionError(f"sync did not apply {hashed} within 5 s")


def test_a_feed_is_answered_from_the_announced_token_and_closes_on_deactivation(running, config):
    sync, engine = running
    amqp_uri = config["AMQP_URI"]
    announce(amqp_uri, token_hash(TOKEN), version=1)
    heard(engine, token_hash(TOKEN))

    with entrypoint_hook(sync, "calendar_feed") as calendar_feed:
        feed: dict[str, Any] = calendar_feed(TOKEN)
        assert feed["body"].startswith("BEGIN:VCALENDAR")
        assert AccountsStandIn.asked == []

        # A token sync was never told of: accounts answers, every time (nothing kept).
        for _ in range(2):
            assert calendar_feed(UNTOLD)["etag"] == feed["etag"]
        assert AccountsStandIn.asked == [UNTOLD, UNTOLD]

        announce(amqp_uri, None, version=2)  # Bob deactivated
        heard(engine, None)
        with pytest.raises(CalendarFeedNotFound):
            calendar_feed(TOKEN)
