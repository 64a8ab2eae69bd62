"""Who is told what when a participant changes."""

from __future__ import annotations

import pytest

from services.notifier.rules import Delivery, delivery_for
from services.notifier.schemas import ParticipantEvent
from tests.people import ALICE, BOB, CLAIRE
from tests.unit.notifier.events import participant_event


def _delivery(event_type, participant=BOB, actor=ALICE, **kwargs):
    event = ParticipantEvent.model_validate(participant_event(event_type, participant, actor, **kwargs))
    return delivery_for(event_type, event)


def test_an_invitee_gets_an_invitation():
    assert _delivery("participant_invited") == Delivery(BOB.user_id, "invitation")


def test_a_participant_confirmed_by_someone_else_is_told_they_were_added():
    assert _delivery("participant_confirmed", actor=CLAIRE) == Delivery(BOB.user_id, "added")


def test_a_participant_confirmed_by_the_system_is_told_they_were_added():
    assert _delivery("participant_confirmed", actor=None) == Delivery(BOB.user_id, "added")


def test_the_owner_is_told_when_the_invitee_accepts():
    assert _delivery("participant_confirmed", actor=BOB) == Delivery(ALICE.user_id, "accepted")


def test_the_owner_is_told_when_the_invitee_refuses():
    assert _delivery("participant_refused", actor=BOB) == Delivery(ALICE.user_id, "refused")


def test_a_removed_participant_is_told():
    assert _delivery("participant_removed") == Delivery(BOB.user_id, "removed")


@pytest.mark.parametrize(
    "event_type",
    ["participant_invited", "participant_confirmed", "participant_refused", "participant_removed"],
)
def test_the_owner_acting_on_themself_is_told_nothing(event_type):
    assert _delivery(event_type, participant=ALICE, actor=ALICE) is None


def test_a_participant_leaving_on_their_own_is_told_nothing():
    assert _delivery("participant_removed", participant=BOB, actor=BOB) is None


def test_an_unknown_event_type_makes_no_notification():
    assert _delivery("participant_promoted") is None
