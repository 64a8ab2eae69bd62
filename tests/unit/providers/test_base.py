"""The one order message statuses move in, per channel."""

from __future__ import annotations

import pytest

from providers.base import STATUS_ORDER, VOCABULARY, moves_forward


def test_every_status_of_the_vocabulary_has_its_place_in_some_order():
    placed = set(STATUS_ORDER["sms"]) | set(STATUS_ORDER["email"])
    assert set(VOCABULARY) <= placed
    assert all(len(set(order)) == len(order) for order in STATUS_ORDER.values())


@pytest.mark.parametrize(
    ("current", "new", "forward"),
    [
        ("sending", "queued", True),
        ("queued", "delivered", True),
        ("sent", "failed", True),
        ("failed", "delivered", True),  # a refunded SMS delivered after all: charged again
        ("failed", "undelivered", True),
        ("undelivered", "delivered", True),
        ("delivered", "failed", False),  # a replayed Twilio "failed" refunds nothing
        ("delivered", "undelivered", False),
        ("undelivered", "failed", False),
        ("delivered", "sent", False),
        ("failed", "sent", False),
        ("failed", "failed", False),  # the same word again changes nothing
    ],
)
def test_an_sms_status_moves_forward_only(current, new, forward):
    assert moves_forward("sms", current, new) is forward


@pytest.mark.parametrize(
    ("current", "new", "forward"),
    [
        ("queued", "deferred", True),
        ("deferred", "delivered", True),
        ("bounced", "delivered", True),
        ("delivered", "opened", True),
        ("unsubscribed", "complained", True),
        ("delivered", "bounced", False),
        ("delivered", "deferred", False),
        ("opened", "delivered", False),
        ("complained", "unsubscribed", False),
        ("failed", "delivered", False),  # no provider took it: nothing a provider says changes that
        ("delivered", "delivered", False),
    ],
)
def test_an_email_status_moves_forward_only(current, new, forward):
    assert moves_forward("email", current, new) is forward


def test_a_word_outside_the_order_moves_nothing():
    assert moves_forward("sms", "queued", "opened") is False
