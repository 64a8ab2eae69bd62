"""The organisation's settings document, through single accounts workers."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly, InvalidInput, ReadOnlyUser
from services.accounts.models import outbox

DEFAULTS = {"multi_user_interactions": False, "allow_double_booking": False}


def test_settings_start_with_their_defaults(accounts, people):
    assert accounts.as_user(people.bob).get_settings() == DEFAULTS
    assert accounts.worker().get_org_settings(people.pomme_org) == DEFAULTS


def test_admin_change_is_stored_and_announced_with_org_settings_updated(accounts, people):
    changed = accounts.as_user(people.alice).update_settings({"multi_user_interactions": True})

    assert changed == {**DEFAULTS, "multi_user_interactions": True}
    assert accounts.as_user(people.bob).get_settings() == {**DEFAULTS, "multi_user_interactions": True}
    (event,) = accounts.events("org_settings_updated")
    assert (event["org_id"], event["actor_id"]) == (people.pomme_org, people.alice)
    assert event["record"] == {**DEFAULTS, "multi_user_interactions": True}
    assert event["event_id"] and event["occurred_at"]


def test_setting_the_same_value_again_announces_nothing_new(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.update_settings({"multi_user_interactions": True})

    alice.update_settings({"multi_user_interactions": True})

    assert len(accounts.events("org_settings_updated")) == 1


def test_settings_of_one_organisation_do_not_touch_another(accounts, people):
    accounts.as_user(people.alice).update_settings({"multi_user_interactions": True})

    assert accounts.as_user(people.diane).get_settings() == DEFAULTS


def test_member_cannot_change_settings_and_nothing_is_written(accounts, people):
    before = accounts.count(outbox)

    with pytest.raises(AdminOnly):
        accounts.as_user(people.bob).update_settings({"multi_user_interactions": True})

    assert accounts.count(outbox) == before
    assert accounts.as_user(people.alice).get_settings() == DEFAULTS


def test_read_only_admin_cannot_change_settings(accounts, people):
    with pytest.raises(ReadOnlyUser):
        accounts.as_user(people.claire).update_settings({"multi_user_interactions": True})

    assert accounts.as_user(people.alice).get_settings() == DEFAULTS


def test_unknown_setting_is_refused_naming_it(accounts, people):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.alice).update_settings({"couleur_du_logo": "vert pomme"})

    assert raised.value.errors == [{"field": "couleur_du_logo", "message": "unknown field"}]
