"""Logins, refresh-token rotation, logout and API tokens, through single accounts workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm.auth import TokenVerifier, load_public_key
from crm.errors import Forbidden, InvalidInput, ReadOnlyUser, Unauthenticated
from services.accounts.exceptions import (
    ApiTokenNotFound,
    InvalidCredentials,
    SessionRevoked,
)
from services.accounts.models import ApiToken, LoginFailure, LoginSession
from tests.unit.accounts.directory import ALICE_PASSWORD, BOB_PASSWORD


def _verifier_from_published_keys(accounts) -> TokenVerifier:
    published = accounts.worker().get_public_keys()
    keys = {entry["kid"]: load_public_key(entry["public_key"]) for entry in published}
    return TokenVerifier(lambda: keys, accounts.settings.auth.issuer)


def test_login_returns_tokens_whose_access_token_verifies_with_the_published_key(accounts, people):
    tokens = accounts.worker().login({"email": "alice@pomme.fr", "password": ALICE_PASSWORD}, "192.0.2.10")

    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    assert tokens["expires_in"] == accounts.settings.auth.access_token_ttl_seconds
    assert tokens["user"]["email"] == "alice@pomme.fr"
    caller = _verifier_from_published_keys(accounts).verify(tokens["access_token"])
    assert (caller.user_id, caller.org_id, caller.role, caller.read_only) == (
        people.alice,
        people.pomme_org,
        "admin",
        False,
    )


def test_login_ignores_case_and_surrounding_spaces_in_the_email(accounts, people):
    tokens = accounts.worker().login({"email": "  Alice@Pomme.FR ", "password": ALICE_PASSWORD})

    assert tokens["user"]["id"] == people.alice


def test_read_only_flag_travels_in_the_access_token(accounts, people):
    token = accounts.access_token(people.claire)

    caller = _verifier_from_published_keys(accounts).verify(token)

    assert caller.read_only is True
    assert caller.is_admin


def test_wrong_password_is_invalid_credentials_and_is_counted(accounts):
    with pytest.raises(InvalidCredentials):
        accounts.worker().login({"email": "bob@pomme.fr", "password": "pas-le-bon-mot"}, "192.0.2.20")

    assert (
        accounts.count(
            LoginFailure.__table__,
            LoginFailure.email == "bob@pomme.fr",
            LoginFailure.client_address == "192.0.2.20",
        )
        == 1
    )


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(accounts):
    with pytest.raises(InvalidCredentials) as unknown:
        accounts.worker().login({"email": "inconnu@pomme.fr", "password": BOB_PASSWORD})
    with pytest.raises(InvalidCredentials) as wrong:
        accounts.worker().login({"email": "bob@pomme.fr", "password": "pas-le-bon-mot"})

    assert unknown.value.detail == wrong.value.detail


def test_login_with_a_missing_field_is_invalid_input_naming_it(accounts):
    with pytest.raises(InvalidInput) as raised:
        accounts.worker().login({"email": "alice@pomme.fr"})

    assert raised.value.errors == [{"field": "password", "message": "Field required"}]


def test_refresh_gives_a_new_pair_and_the_old_refresh_token_stops_working(accounts, people):
    first = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    second = accounts.worker().refresh({"refresh_token": first["refresh_token"]})

    assert second["refresh_token"] != first["refresh_token"]
    assert accounts.worker(second["access_token"]).get_me()["id"] == people.bob
    with pytest.raises(Unauthenticated):
        accounts.worker().refresh({"refresh_token": first["refresh_token"]})


def test_reused_refresh_token_signs_the_session_out(accounts):
    first = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    second = accounts.worker().refresh({"refresh_token": first["refresh_token"]})

    with pytest.raises(SessionRevoked):
        accounts.worker().refresh({"refresh_token": first["refresh_token"]})

    with pytest.raises(SessionRevoked):
        accounts.worker().refresh({"refresh_token": second["refresh_token"]})
    with pytest.raises(SessionRevoked):
        accounts.worker(second["access_token"]).get_me()


def test_unknown_refresh_token_is_refused(accounts):
    with pytest.raises(Unauthenticated):
        accounts.worker().refresh({"refresh_token": "jeton-inconnu-de-pomme"})


def test_logout_revokes_the_session(accounts):
    tokens = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    worker = accounts.worker(tokens["access_token"])

    worker.logout({"refresh_token": tokens["refresh_token"]})

    with pytest.raises(SessionRevoked):
        accounts.worker(tokens["access_token"]).get_me()
    with pytest.raises(SessionRevoked):
        accounts.worker().refresh({"refresh_token": tokens["refresh_token"]})


def test_logout_leaves_the_other_sessions_of_the_user_signed_in(accounts, people):
    phone = accounts.access_token(people.bob)
    laptop = accounts.access_token(people.bob)

    accounts.worker(phone).logout()

    assert accounts.worker(laptop).get_me()["id"] == people.bob


def test_logout_presenting_someone_elses_refresh_token_does_not_sign_them_out(accounts, people):
    bob = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    accounts.as_user(people.alice).logout({"refresh_token": bob["refresh_token"]})

    assert accounts.worker(bob["access_token"]).get_me()["id"] == people.bob


def test_access_token_of_an_expired_session_is_refused_by_accounts(accounts, people):
    token = accounts.access_token(people.bob)
    with accounts.db.transaction() as uow:
        for login in uow.session.query(LoginSession).filter_by(user_id=people.bob):
            login.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    with pytest.raises(SessionRevoked):
        accounts.worker(token).get_me()


def test_api_token_is_exchanged_for_an_access_token_acting_as_its_owner(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})

    exchanged = accounts.worker().exchange_api_token(created["token"])

    assert created["token"].startswith("crm_")
    assert created["prefix"] == created["token"][: len(created["prefix"])]
    assert exchanged["expires_in"] == accounts.settings.auth.access_token_ttl_seconds
    assert accounts.worker(exchanged["access_token"]).get_me()["id"] == people.bob


def test_api_token_secret_is_shown_only_when_it_is_created(accounts, people):
    bob = accounts.as_user(people.bob)
    created = bob.create_api_token({"name": "Scanner de l'accueil"})

    listed = bob.list_api_tokens()["items"]

    assert [token["id"] for token in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert created["token"] not in str(listed)


def test_revoked_api_token_cannot_be_exchanged(accounts, people):
    bob = accounts.as_user(people.bob)
    created = bob.create_api_token({"name": "Scanner de l'accueil"})
    access = accounts.worker().exchange_api_token(created["token"])["access_token"]

    revoked = bob.revoke_api_token(created["id"])

    assert revoked["revoked_at"] is not None
    with pytest.raises(Unauthenticated):
        accounts.worker().exchange_api_token(created["token"])
    with pytest.raises(SessionRevoked):
        accounts.worker(access).get_me()


def test_logging_out_with_an_api_tokens_access_token_revokes_the_api_token(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})
    access = accounts.worker().exchange_api_token(created["token"])["access_token"]

    accounts.worker(access).logout()

    with pytest.raises(Unauthenticated):
        accounts.worker().exchange_api_token(created["token"])


def test_a_string_that_is_not_an_api_token_is_refused(accounts):
    with pytest.raises(InvalidCredentials):
        accounts.worker().exchange_api_token("Bearer pomme")


def test_expired_api_token_cannot_be_exchanged(accounts, people):
    in_one_hour = datetime.now(UTC) + timedelta(hours=1)
    created = accounts.as_user(people.bob).create_api_token(
        {"name": "Scanner prêté", "expires_at": in_one_hour.isoformat()}
    )
    with accounts.db.transaction() as uow:  # an hour and a minute later
        token = uow.session.get(ApiToken, created["id"])
        token.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    with pytest.raises(Unauthenticated):
        accounts.worker().exchange_api_token(created["token"])


@pytest.mark.parametrize(
    "expires_at",
    ["2020-01-01T00:00:00+00:00", (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()],
    ids=["past", "without-offset"],
)
def test_api_token_expiry_must_be_a_future_time_with_an_offset(accounts, people, expires_at):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.bob).create_api_token({"name": "Scanner", "expires_at": expires_at})

    assert [error["field"] for error in raised.value.errors] == ["expires_at"]
    assert accounts.count(ApiToken.__table__) == 0


def test_api_token_expiry_given_with_a_utc_offset_is_honoured(accounts, people):
    montreal = timezone(timedelta(hours=-5))
    in_one_hour = (datetime.now(UTC) + timedelta(hours=1)).astimezone(montreal)
    created = accounts.as_user(people.bob).create_api_token(
        {"name": "Scanner de Montréal", "expires_at": in_one_hour.isoformat()}
    )

    listed = accounts.as_user(people.bob).list_api_tokens()["items"][0]

    assert datetime.fromisoformat(listed["expires_at"]) == in_one_hour
    assert accounts.worker().exchange_api_token(created["token"])["access_token"]


def test_member_cannot_revoke_a_colleagues_api_token(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})

    with pytest.raises(ApiTokenNotFound):
        accounts.as_user(people.emile).revoke_api_token(created["id"])

    assert accounts.worker().exchange_api_token(created["token"])["access_token"]


def test_admin_can_revoke_any_api_token_of_the_organisation(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})

    accounts.as_user(people.alice).revoke_api_token(created["id"])

    with pytest.raises(Unauthenticated):
        accounts.worker().exchange_api_token(created["token"])


def test_api_token_of_another_organisation_is_not_found(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})

    with pytest.raises(ApiTokenNotFound):
        accounts.as_user(people.diane).revoke_api_token(created["id"])


def test_admin_sees_every_api_token_and_a_member_only_their_own(accounts, people):
    bobs = accounts.as_user(people.bob).create_api_token({"name": "Scanner de Bob"})
    emiles = accounts.as_user(people.emile).create_api_token({"name": "Scanner d'Émile"})
    accounts.as_user(people.diane).create_api_token({"name": "Scanner de Poire"})

    seen_by_alice = {t["id"] for t in accounts.as_user(people.alice).list_api_tokens()["items"]}
    seen_by_bob = {t["id"] for t in accounts.as_user(people.bob).list_api_tokens()["items"]}

    assert seen_by_alice == {bobs["id"], emiles["id"]}
    assert seen_by_bob == {bobs["id"]}


def test_read_only_user_cannot_create_an_api_token(accounts, people):
    with pytest.raises(ReadOnlyUser):
        accounts.as_user(people.claire).create_api_token({"name": "Scanner de Claire"})

    assert accounts.count(ApiToken.__table__) == 0


def test_an_api_token_cannot_make_api_tokens(accounts, people):
    created = accounts.as_user(people.bob).create_api_token({"name": "Scanner de l'accueil"})
    access = accounts.worker().exchange_api_token(created["token"])["access_token"]

    with pytest.raises(Forbidden, match="an API token cannot make API tokens"):
        accounts.worker(access).create_api_token({"name": "Copie du scanner"})


def test_changing_ones_password_signs_out_the_other_logins_and_keeps_this_one(accounts):
    here = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})
    elsewhere = accounts.worker().login({"email": "bob@pomme.fr", "password": BOB_PASSWORD})

    accounts.worker(here["access_token"]).update_me(
        {"current_password": BOB_PASSWORD, "new_password": "Nouveau-mot-de-passe-2026"}
    )

    with pytest.raises(SessionRevoked):
        accounts.worker(elsewhere["access_token"]).get_me()
    with pytest.raises(SessionRevoked):
        accounts.worker().refresh({"refresh_token": elsewhere["refresh_token"]})
    assert accounts.worker(here["access_token"]).get_me()["email"] == "bob@pomme.fr"
