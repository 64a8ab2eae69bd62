"""Admin user management, profiles and bootstrap, through single accounts workers."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly, Conflict, InvalidInput, ReadOnlyUser, Unauthenticated
from services.accounts.exceptions import (
    AlreadyBootstrapped,
    DuplicateEmail,
    InvalidCredentials,
    LastAdmin,
    SessionRevoked,
    StaleVersion,
    UserNotFound,
    WrongPassword,
)
from services.accounts.models import User, UserSecrets, outbox
from tests.unit.accounts.directory import BOB_PASSWORD, EMILE_PASSWORD

FANNY = {"email": "fanny@pomme.fr", "name": "Fanny Morel", "password": "Pomme-Fanny-2024!"}


def _footprint(accounts) -> tuple[int, int, int]:
    return (
        accounts.count(User.__table__),
        accounts.count(UserSecrets.__table__),
        accounts.count(outbox),
    )


# -- creating users -------------------------------------------------------------


def test_admin_creates_a_member_with_a_generated_password_shown_once(accounts, people):
    created = accounts.as_user(people.alice).create_user({"email": "Fanny@Pomme.fr", "name": "Fanny Morel"})

    assert created["created"] is True
    assert (created["org_id"], created["email"], created["role"]) == (
        people.pomme_org,
        "fanny@pomme.fr",
        "member",
    )
    tokens = accounts.worker().login({"email": "fanny@pomme.fr", "password": created["initial_password"]})
    assert tokens["user"]["id"] == created["id"]


def test_creating_a_user_emits_user_created_with_the_record(accounts, people):
    created = accounts.as_user(people.alice).create_user(FANNY)

    (event,) = [e for e in accounts.events("user_created") if e["record"]["id"] == created["id"]]
    assert (event["org_id"], event["actor_id"]) == (people.pomme_org, people.alice)
    assert event["record"]["email"] == "fanny@pomme.fr"
    assert "password" not in str(event)


def test_duplicate_email_is_a_conflict_naming_the_field(accounts, people):
    with pytest.raises(DuplicateEmail) as raised:
        accounts.as_user(people.alice).create_user({"email": "BOB@pomme.fr", "name": "Bob Bis"})

    assert isinstance(raised.value, Conflict)
    assert [error["field"] for error in raised.value.errors] == ["email"]


def test_email_used_in_another_organisation_is_a_duplicate_too(accounts, people):
    with pytest.raises(DuplicateEmail):
        accounts.as_user(people.diane).create_user({"email": "bob@pomme.fr", "name": "Bob"})


def test_rejected_create_writes_nothing(accounts, people):
    before = _footprint(accounts)

    with pytest.raises(DuplicateEmail):
        accounts.as_user(people.alice).create_user({"email": "bob@pomme.fr", "name": "Bob Bis"})
    with pytest.raises(AdminOnly):
        accounts.as_user(people.bob).create_user(FANNY)

    assert _footprint(accounts) == before


def test_create_with_the_same_id_and_content_is_idempotent(accounts, people):
    alice = accounts.as_user(people.alice)
    request = {**FANNY, "id": "fanny-0001", "hourly_cost": {"amount": "38.5", "currency": "eur"}}
    first = alice.create_user(request)
    footprint = _footprint(accounts)

    replay = alice.create_user(request)

    assert (first["created"], replay["created"]) == (True, False)
    assert replay["id"] == first["id"] == "fanny-0001"
    assert replay["hourly_cost"] == {"amount": "38.50", "currency": "EUR"}
    assert _footprint(accounts) == footprint


def test_create_with_the_same_id_and_different_content_is_a_conflict(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.create_user({**FANNY, "id": "fanny-0001"})

    with pytest.raises(Conflict) as raised:
        alice.create_user({**FANNY, "id": "fanny-0001", "name": "Fanny Morel-Roux"})

    assert [error["field"] for error in raised.value.errors] == ["id"]
    assert accounts.as_user(people.alice).get_user("fanny-0001")["name"] == "Fanny Morel"


def test_member_cannot_create_users(accounts, people):
    with pytest.raises(AdminOnly):
        accounts.as_user(people.bob).create_user(FANNY)


def test_read_only_admin_cannot_create_users(accounts, people):
    with pytest.raises(ReadOnlyUser):
        accounts.as_user(people.claire).create_user(FANNY)


def test_create_user_refuses_a_short_password_naming_the_field(accounts, people):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.alice).create_user({**FANNY, "password": "pomme"})

    assert [error["field"] for error in raised.value.errors] == ["password"]


# -- reading users ----------------------------------------------------------------


def test_user_of_another_organisation_is_not_found(accounts, people):
    alice = accounts.as_user(people.alice)

    with pytest.raises(UserNotFound):
        alice.get_user(people.diane)
    with pytest.raises(UserNotFound):
        alice.update_user(people.diane, {"name": "Diane"})
    with pytest.raises(UserNotFound):
        alice.set_user_active(people.diane, False)
    listed = {user["id"] for user in alice.list_users()["items"]}
    assert people.diane not in listed


def test_hourly_cost_is_shown_to_admins_and_to_the_user_only(accounts, people):
    cost = {"amount": "45.00", "currency": "EUR"}

    assert accounts.as_user(people.alice).get_user(people.bob)["hourly_cost"] == cost
    assert accounts.as_user(people.bob).get_user(people.bob)["hourly_cost"] == cost
    assert accounts.as_user(people.bob).get_me()["hourly_cost"] == cost
    assert accounts.as_user(people.emile).get_user(people.bob)["hourly_cost"] is None
    seen_by_emile = {u["id"]: u for u in accounts.as_user(people.emile).list_users()["items"]}
    assert seen_by_emile[people.bob]["hourly_cost"] is None
    seen_by_bob = {u["id"]: u for u in accounts.as_user(people.bob).list_users()["items"]}
    assert seen_by_bob[people.bob]["hourly_cost"] == cost


def test_users_are_listed_a_page_at_a_time(accounts, people):
    alice = accounts.as_user(people.alice)

    first = alice.list_users(limit=2)
    second = alice.list_users(limit=2, cursor=first["next_cursor"])

    assert len(first["items"]) == 2
    assert second["next_cursor"] is None
    everyone = [user["id"] for user in first["items"] + second["items"]]
    assert sorted(everyone) == sorted([people.alice, people.bob, people.claire, people.emile])


@pytest.mark.parametrize("limit", [0, 201, True, "10"])
def test_list_users_refuses_a_bad_limit_naming_the_field(accounts, people, limit):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.alice).list_users(limit=limit)

    assert [error["field"] for error in raised.value.errors] == ["limit"]


@pytest.mark.parametrize("cursor", ["pomme", "dXNlcnM6", "%%%%", "dXNlcnM6AA", "dXNlcnM6J09SIDE9MQ"])
def test_list_users_refuses_a_cursor_it_did_not_issue(accounts, people, cursor):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.alice).list_users(cursor=cursor)

    assert [error["field"] for error in raised.value.errors] == ["cursor"]


def test_only_admins_see_deactivated_users(accounts, people):
    accounts.as_user(people.alice).set_user_active(people.emile, False)

    with pytest.raises(UserNotFound):
        accounts.as_user(people.bob).get_user(people.emile)
    seen_by_bob = accounts.as_user(people.bob).list_users(include_inactive=True)["items"]
    assert people.emile not in {user["id"] for user in seen_by_bob}
    assert accounts.as_user(people.alice).get_user(people.emile)["active"] is False
    seen_by_alice = accounts.as_user(people.alice).list_users(include_inactive=True)["items"]
    assert people.emile in {user["id"] for user in seen_by_alice}


# -- updating users -----------------------------------------------------------------


def test_update_bumps_the_version_and_emits_user_updated(accounts, people):
    updated = accounts.as_user(people.alice).update_user(people.bob, {"name": "Robert Durand", "version": 1})

    assert (updated["name"], updated["version"]) == ("Robert Durand", 2)
    (event,) = accounts.events("user_updated")
    assert event["record"]["name"] == "Robert Durand"
    assert event["actor_id"] == people.alice


def test_update_with_a_stale_version_is_refused_and_changes_nothing(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.update_user(people.bob, {"name": "Robert Durand"})

    with pytest.raises(StaleVersion) as raised:
        alice.update_user(people.bob, {"role": "admin", "version": 1})

    assert [error["field"] for error in raised.value.errors] == ["version"]
    current = alice.get_user(people.bob)
    assert (current["role"], current["version"]) == ("member", 2)


def test_update_that_changes_nothing_keeps_the_version_and_emits_nothing(accounts, people):
    updated = accounts.as_user(people.alice).update_user(
        people.bob, {"name": "Bob Durand", "time_zone": "Europe/Paris"}
    )

    assert updated["version"] == 1
    assert accounts.events("user_updated") == []


def test_admin_can_clear_an_hourly_cost(accounts, people):
    updated = accounts.as_user(people.alice).update_user(people.bob, {"hourly_cost": None})

    assert updated["hourly_cost"] is None


def test_changing_an_email_to_a_colleagues_is_a_duplicate(accounts, people):
    with pytest.raises(DuplicateEmail):
        accounts.as_user(people.alice).update_user(people.bob, {"email": "emile@pomme.fr"})


def test_demoting_the_last_admin_is_refused(accounts, people):
    with pytest.raises(LastAdmin):
        accounts.as_user(people.diane).update_user(people.diane, {"role": "member"})

    assert accounts.as_user(people.diane).get_me()["role"] == "admin"


def test_deactivating_the_last_admin_is_refused(accounts, people):
    with pytest.raises(LastAdmin):
        accounts.as_user(people.diane).set_user_active(people.diane, False)


def test_demoted_admin_loses_admin_rights_at_once_despite_an_unexpired_token(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.update_user(people.claire, {"read_only": False})
    claire = accounts.access_token(people.claire)

    alice.update_user(people.claire, {"role": "member"})

    with pytest.raises(AdminOnly):
        accounts.worker(claire).create_user(FANNY)


def test_user_made_read_only_stops_writing_at_once_despite_an_unexpired_token(accounts, people):
    bob = accounts.access_token(people.bob)

    accounts.as_user(people.alice).update_user(people.bob, {"read_only": True})

    with pytest.raises(ReadOnlyUser):
        accounts.worker(bob).create_api_token({"name": "Scanner de Bob"})


def test_an_admin_can_be_demoted_while_another_remains(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.update_user(people.claire, {"read_only": False})

    updated = alice.update_user(people.alice, {"role": "member"})

    assert updated["role"] == "member"


def test_demoting_the_last_admin_who_can_write_is_refused(accounts, people):
    with pytest.raises(LastAdmin):
        accounts.as_user(people.alice).update_user(people.alice, {"role": "member"})


def test_making_the_last_admin_read_only_is_refused(accounts, people):
    with pytest.raises(LastAdmin):
        accounts.as_user(people.diane).update_user(people.diane, {"read_only": True})


# -- deactivation --------------------------------------------------------------------


def test_deactivated_user_cannot_log_in_and_their_sessions_are_revoked(accounts, people):
    bob = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    api_token = accounts.worker(bob["access_token"]).create_api_token({"name": "Scanner de Bob"})

    deactivated = accounts.as_user(people.alice).set_user_active(people.bob, False)

    assert deactivated["active"] is False
    with pytest.raises(SessionRevoked):
        accounts.worker(bob["access_token"]).get_me()
    with pytest.raises(SessionRevoked):
        accounts.worker().refresh({"refresh_token": bob["refresh_token"]})
    with pytest.raises(InvalidCredentials):
        accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    with pytest.raises(Unauthenticated):
        accounts.worker().exchange_api_token(api_token["token"])
    (event,) = accounts.events("user_deactivated")
    assert event["record"]["id"] == people.bob


def test_reactivated_user_can_log_in_again(accounts, people):
    alice = accounts.as_user(people.alice)
    alice.set_user_active(people.bob, False)

    alice.set_user_active(people.bob, True)

    tokens = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    assert tokens["user"]["active"] is True
    assert [e["record"]["id"] for e in accounts.events("user_reactivated")] == [people.bob]


# -- own profile -------------------------------------------------------------------------


def test_member_can_change_their_own_name_and_time_zone(accounts, people):
    updated = accounts.as_user(people.emile).update_me(
        {"name": "Émile Roux-Petit", "time_zone": "America/Guadeloupe"}
    )

    assert (updated["name"], updated["time_zone"], updated["version"]) == (
        "Émile Roux-Petit",
        "America/Guadeloupe",
        2,
    )


def test_read_only_user_cannot_change_their_own_profile(accounts, people):
    with pytest.raises(ReadOnlyUser):
        accounts.as_user(people.claire).update_me({"name": "Claire Petit-Martin"})

    assert accounts.as_user(people.claire).get_me()["name"] == "Claire Petit"


def test_password_change_needs_the_current_password(accounts, people):
    with pytest.raises(WrongPassword) as raised:
        accounts.as_user(people.emile).update_me(
            {"current_password": "pas-le-bon-mot", "new_password": "Pomme-Emile-2025!"}
        )

    assert isinstance(raised.value, InvalidInput)
    assert [error["field"] for error in raised.value.errors] == ["current_password"]


def test_changed_password_is_the_one_that_logs_in(accounts, people):
    accounts.as_user(people.emile).update_me(
        {"current_password": EMILE_PASSWORD, "new_password": "Pomme-Emile-2025!"}
    )

    tokens = accounts.worker().login({"email": "emile@pomme.fr", "password": "Pomme-Emile-2025!"})
    assert tokens["user"]["id"] == people.emile


def test_current_password_alone_is_refused_naming_the_new_password(accounts, people):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.emile).update_me({"current_password": EMILE_PASSWORD})

    assert [error["field"] for error in raised.value.errors] == ["new_password"]


def test_admin_password_reset_signs_the_user_out_and_sets_the_new_password(accounts, people):
    claire = accounts.access_token(people.claire)

    accounts.as_user(people.alice).update_user(people.claire, {"password": "Pomme-Claire-2025!"})

    with pytest.raises(SessionRevoked):
        accounts.worker(claire).get_me()
    tokens = accounts.worker().login({"email": "claire@pomme.fr", "password": "Pomme-Claire-2025!"})
    assert tokens["user"]["id"] == people.claire
    assert "Pomme-Claire-2025!" not in str(accounts.events("user_updated"))


# -- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_refuses_an_email_that_already_has_a_user(accounts):
    with pytest.raises(AlreadyBootstrapped):
        accounts.bootstrap(
            {
                "org_name": "Pomme Bis",
                "email": "alice@pomme.fr",
                "name": "Alice Martin",
                "password": "Pomme-Alice-2025!",
            }
        )
