"""Participants: invitations, answers, and who may invite."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from services.interactions.exceptions import (
    InteractionNotFound,
    MultiUserInteractionsOff,
    NotOrganiser,
    ParticipantNotFound,
)
from tests.people import ALICE, BOB, DIANE
from tests.unit.interactions.meetings import create


def test_participants_need_the_multi_user_setting(interactions):
    created = create(interactions)
    with pytest.raises(MultiUserInteractionsOff, match="multi_user_interactions"):
        interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})


def test_an_invited_user_accepts_and_the_owner_stays_the_organiser(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    invited = interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})
    assert invited["status"] == "invited"
    accepted = interactions.as_user(BOB).respond_to_invitation(created["id"], True)
    assert accepted["status"] == "confirmed"
    shown = interactions.as_user(BOB).get_interaction(created["id"])
    assert shown["owner_id"] == ALICE.user_id
    assert [p["user_id"] for p in shown["participants"]] == [BOB.user_id]
    [event] = interactions.events("participant_confirmed")
    assert (event["actor_id"], event["record"]["interaction"]["owner_id"]) == (BOB.user_id, ALICE.user_id)


def test_only_the_invited_user_refuses_and_a_stranger_cannot_answer(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})
    with pytest.raises(ParticipantNotFound):
        interactions.as_user(ALICE).respond_to_invitation(created["id"], False)  # Alice was not invited
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).respond_to_invitation(created["id"], True)
    assert interactions.as_user(BOB).respond_to_invitation(created["id"], False)["status"] == "refused"


def test_a_member_who_is_not_the_organiser_cannot_invite(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    with pytest.raises(NotOrganiser):
        interactions.as_user(BOB).add_participant(created["id"], {"user_id": ALICE.user_id})


def test_a_user_of_another_org_cannot_be_invited(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    with pytest.raises(InvalidInput, match="user_id"):
        interactions.as_user(ALICE).add_participant(created["id"], {"user_id": DIANE.user_id})
