"""The notifier service: participant events in, each user's own inbox out."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ReadOnlyUser, Unauthenticated
from services.notifier.exceptions import NotificationNotFound
from tests.people import ALICE, BOB, CLAIRE, DIANE, POIRE, Person
from tests.unit.notifier.events import CHANTIER, invited, participant_event


def _invite(notifier, person=BOB, **kwargs) -> dict:
    event = invited(person, **kwargs)
    notifier.consumer().on_participant_invited(event)
    return event


def test_an_invitation_lands_in_the_invitees_inbox_with_accept_and_refuse(notifier):
    event = _invite(notifier)

    (notification,) = notifier.as_user(BOB).list_notifications()["items"]
    assert notification["kind"] == "invitation"
    assert notification["user_id"] == BOB.user_id
    assert notification["interaction_id"] == CHANTIER["id"]
    assert notification["source_event_id"] == event["event_id"]
    assert "Réunion chantier Pomme" in notification["title"]
    assert "Tue 24 Nov 2026 at 09:30 UTC" in notification["body"]
    assert notification["link"] == f"/api/v1/interactions/{CHANTIER['id']}"
    assert [action["name"] for action in notification["actions"]] == ["accept", "refuse"]
    assert notification["read_at"] is None


def test_each_notification_is_announced_with_whether_an_email_copy_is_wanted(notifier):
    _invite(notifier)

    (announced,) = notifier.events("notification_created")
    (notification,) = notifier.as_user(BOB).list_notifications()["items"]
    assert announced["org_id"] == BOB.org_id
    assert announced["actor_id"] == ALICE.user_id
    assert announced["record"] == {**notification, "email_copy": False}


def test_a_redelivered_event_makes_one_notification(notifier):
    event = _invite(notifier)
    notifier.consumer().on_participant_invited(event)
    notifier.consumer().on_participant_invited(event)

    assert len(notifier.as_user(BOB).list_notifications()["items"]) == 1
    assert len(notifier.events("notification_created")) == 1


def test_the_owner_adding_themself_is_not_notified(notifier):
    notifier.consumer().on_participant_confirmed(participant_event("participant_confirmed", ALICE, ALICE))

    assert notifier.as_user(ALICE).list_notifications()["items"] == []
    assert notifier.count("processed_events") == 1


def test_the_owner_learns_that_the_invitee_accepted(notifier):
    notifier.consumer().on_participant_confirmed(participant_event("participant_confirmed", BOB, actor=BOB))

    (notification,) = notifier.as_user(ALICE).list_notifications()["items"]
    assert notification["kind"] == "accepted"
    assert notification["participant_user_id"] == BOB.user_id
    assert notifier.as_user(BOB).list_notifications()["items"] == []


def test_the_owner_learns_that_the_invitee_refused(notifier):
    notifier.consumer().on_participant_refused(participant_event("participant_refused", BOB, actor=BOB))

    (notification,) = notifier.as_user(ALICE).list_notifications()["items"]
    assert notification["kind"] == "refused"


def test_a_removed_participant_is_told(notifier):
    notifier.consumer().on_participant_removed(participant_event("participant_removed", BOB, actor=ALICE))

    (notification,) = notifier.as_user(BOB).list_notifications()["items"]
    assert notification["kind"] == "removed"
    assert notification["actions"] == []


def test_a_malformed_event_is_dropped_without_writing(notifier):
    event = invited()
    del event["record"]["interaction"]["owner_id"]

    notifier.consumer().on_participant_invited(event)

    assert notifier.count("notifications") == 0
    assert notifier.count("processed_events") == 0


def test_a_user_sees_only_their_own_notifications(notifier):
    _invite(notifier, BOB)
    _invite(notifier, CLAIRE)

    assert [n["user_id"] for n in notifier.as_user(BOB).list_notifications()["items"]] == [BOB.user_id]
    assert notifier.as_user(ALICE).list_notifications()["items"] == []


def test_another_users_notification_is_not_found(notifier):
    _invite(notifier, BOB)
    (notification,) = notifier.as_user(BOB).list_notifications()["items"]

    with pytest.raises(NotificationNotFound):
        notifier.as_user(ALICE).mark_read(notification["id"])
    assert notifier.as_user(BOB).unread_count() == {"unread": 1}


def test_a_notification_of_another_organisation_is_not_found(notifier):
    _invite(notifier, DIANE, org_id=POIRE)
    (notification,) = notifier.as_user(DIANE).list_notifications()["items"]
    same_id_other_org = Person(DIANE.user_id, BOB.org_id)

    with pytest.raises(NotificationNotFound):
        notifier.as_user(same_id_other_org).mark_read(notification["id"])


def test_unread_count_follows_marking_read(notifier):
    for _ in range(3):
        _invite(notifier)
    bob = notifier.as_user(BOB)
    first = bob.list_notifications()["items"][0]

    assert bob.unread_count() == {"unread": 3}
    bob.mark_read(first["id"])
    assert notifier.as_user(BOB).unread_count() == {"unread": 2}


def test_marking_read_twice_keeps_the_first_time(notifier):
    _invite(notifier)
    (notification,) = notifier.as_user(BOB).list_notifications()["items"]

    once = notifier.as_user(BOB).mark_read(notification["id"])
    twice = notifier.as_user(BOB).mark_read(notification["id"])

    assert once["read_at"] is not None
    assert twice["read_at"] == once["read_at"]


def test_mark_all_read_says_how_many_were_unread(notifier):
    for _ in range(3):
        _invite(notifier)
    _invite(notifier, CLAIRE)
    bob = notifier.as_user(BOB)
    bob.mark_read(bob.list_notifications()["items"][0]["id"])

    assert notifier.as_user(BOB).mark_all_read() == {"marked": 2}
    assert notifier.as_user(BOB).mark_all_read() == {"marked": 0}
    assert notifier.as_user(BOB).unread_count() == {"unread": 0}
    assert notifier.as_user(CLAIRE).unread_count() == {"unread": 1}


def test_the_inbox_is_served_newest_first_a_page_at_a_time(notifier):
    events = [_invite(notifier) for _ in range(5)]
    bob = notifier.as_user(BOB)

    first = bob.list_notifications(limit=2)
    second = bob.list_notifications(limit=2, cursor=first["next_cursor"])
    last = bob.list_notifications(limit=2, cursor=second["next_cursor"])

    served = [n["source_event_id"] for page in (first, second, last) for n in page["items"]]
    assert served == [event["event_id"] for event in reversed(events)]
    assert last["next_cursor"] is None


def test_unread_only_leaves_out_what_was_read(notifier):
    older = _invite(notifier)
    _invite(notifier)
    bob = notifier.as_user(BOB)
    bob.mark_read(bob.list_notifications()["items"][0]["id"])

    unread = notifier.as_user(BOB).list_notifications(unread_only=True)["items"]

    assert [n["source_event_id"] for n in unread] == [older["event_id"]]


def test_a_notification_id_must_be_text(notifier):
    with pytest.raises(InvalidInput):
        notifier.as_user(BOB).mark_read(42)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "x' OR 1=1"}, "cursor"),
        ({"cursor": "zzzz"}, "cursor"),  # well formed, but names no notification: not the first page
    ],
)
def test_bad_list_arguments_name_the_field(notifier, arguments, field):
    with pytest.raises(InvalidInput) as refused:
        notifier.as_user(BOB).list_notifications(**arguments)

    assert refused.value.errors[0]["field"] == field


def test_a_caller_without_a_token_is_refused(notifier):
    with pytest.raises(Unauthenticated):
        notifier.worker().unread_count()


def test_a_read_only_user_may_mark_their_inbox_read(notifier):
    _invite(notifier, CLAIRE)

    assert notifier.as_user(CLAIRE).mark_all_read() == {"marked": 1}


def test_a_read_only_user_cannot_change_their_preferences(notifier):
    with pytest.raises(ReadOnlyUser):
        notifier.as_user(CLAIRE).update_preferences({"email_copy": True})

    assert notifier.count("delivery_preferences") == 0


def test_preferences_default_to_in_app_only(notifier):
    assert notifier.as_user(BOB).get_preferences() == {"in_app": True, "email_copy": False}


def test_an_email_copy_once_asked_for_is_announced_with_each_notification(notifier):
    bob = notifier.as_user(BOB)
    assert bob.update_preferences({"email_copy": True}) == {"in_app": True, "email_copy": True}
    assert notifier.as_user(BOB).update_preferences({"email_copy": True, "in_app": True})["email_copy"]

    _invite(notifier)

    assert notifier.as_user(BOB).get_preferences() == {"in_app": True, "email_copy": True}
    assert notifier.as_user(ALICE).get_preferences() == {"in_app": True, "email_copy": False}
    (announced,) = notifier.events("notification_created")
    assert announced["record"]["email_copy"] is True


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "email_copy"),
        ({"email_copy": "yes"}, "email_copy"),
        ({"email_copy": True, "in_app": False}, "in_app"),
    ],
)
def test_bad_preferences_name_the_field(notifier, data, field):
    with pytest.raises(InvalidInput) as refused:
        notifier.as_user(BOB).update_preferences(data)

    assert refused.value.errors[0]["field"] == field
