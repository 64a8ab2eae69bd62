"""Personal ingest addresses and calendar feed tokens, through single accounts workers."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.accounts.login_sessions import token_hash


def _local_part(address: str) -> str:
    return address.split("@", 1)[0]


def test_every_user_has_an_ingest_address_on_the_configured_domain(accounts, people):
    secrets = accounts.as_user(people.bob).get_my_secrets()

    assert secrets["ingest_address"].endswith("@in.pomme.fr")
    assert secrets["calendar_feed_token_set"] is False
    assert accounts.worker().resolve_ingest_address(_local_part(secrets["ingest_address"])) == {
        "user_id": people.bob,
        "org_id": people.pomme_org,
    }


def test_rotating_the_ingest_address_changes_it_and_the_old_one_stops_resolving(accounts, people):
    bob = accounts.as_user(people.bob)
    old = bob.get_my_secrets()["ingest_address"]

    rotated = bob.rotate_my_secret("ingest_address")

    assert rotated["kind"] == "ingest_address"
    assert rotated["value"] != old
    assert bob.get_my_secrets()["ingest_address"] == rotated["value"]
    assert accounts.worker().resolve_ingest_address(_local_part(old)) is None
    assert accounts.worker().resolve_ingest_address(_local_part(rotated["value"]))["user_id"] == (people.bob)


def test_ingest_address_resolves_whatever_the_case_a_mail_system_gives_it(accounts, people):
    address = accounts.as_user(people.bob).get_my_secrets()["ingest_address"]

    resolved = accounts.worker().resolve_ingest_address(_local_part(address).upper())

    assert resolved["user_id"] == people.bob


def test_calendar_feed_token_resolves_back_to_its_user(accounts, people):
    bob = accounts.as_user(people.bob)

    rotated = bob.rotate_my_secret("calendar_feed")

    assert accounts.worker().resolve_calendar_token(rotated["value"]) == {
        "user_id": people.bob,
        "org_id": people.pomme_org,
    }
    assert bob.get_my_secrets()["calendar_feed_token_set"] is True


def test_rotating_the_calendar_feed_token_retires_the_old_one(accounts, people):
    bob = accounts.as_user(people.bob)
    old = bob.rotate_my_secret("calendar_feed")["value"]

    new = bob.rotate_my_secret("calendar_feed")["value"]

    assert accounts.worker().resolve_calendar_token(old) is None
    assert accounts.worker().resolve_calendar_token(new)["user_id"] == people.bob


def test_unknown_calendar_token_resolves_to_nobody(accounts):
    assert accounts.worker().resolve_calendar_token("cal_pas-un-vrai-jeton") is None


def test_unknown_secret_kind_is_invalid_input_naming_the_kind(accounts, people):
    with pytest.raises(InvalidInput) as raised:
        accounts.as_user(people.bob).rotate_my_secret("mot_de_passe")

    assert [error["field"] for error in raised.value.errors] == ["kind"]


def test_read_only_user_can_see_but_not_rotate_their_secrets(accounts, people):
    claire = accounts.as_user(people.claire)
    address = claire.get_my_secrets()["ingest_address"]

    with pytest.raises(ReadOnlyUser):
        claire.rotate_my_secret("ingest_address")

    assert claire.get_my_secrets()["ingest_address"] == address


def test_secrets_of_a_deactivated_user_resolve_to_nobody(accounts, people):
    bob = accounts.as_user(people.bob)
    address = bob.get_my_secrets()["ingest_address"]
    calendar_token = bob.rotate_my_secret("calendar_feed")["value"]

    accounts.as_user(people.alice).set_user_active(people.bob, False)

    assert accounts.worker().resolve_ingest_address(_local_part(address)) is None
    assert accounts.worker().resolve_calendar_token(calendar_token) is None


def test_mailin_hears_of_each_ingest_address_change_and_can_load_them_all(accounts, people):
    bob = accounts.as_user(people.bob)
    old = _local_part(bob.get_my_secrets()["ingest_address"])
    new = _local_part(bob.rotate_my_secret("ingest_address")["value"])
    accounts.as_user(people.alice).set_user_active(people.bob, False)

    changes = [
        e["record"] for e in accounts.events("ingest_address_changed") if e["record"]["user_id"] == people.bob
    ]
    assert [(c["local_part"], c["active"]) for c in changes][-2:] == [(new, True), (new, False)]
    assert old not in [c["local_part"] for c in changes[-2:]]
    assert changes[-1]["version"] > changes[-2]["version"]
    snapshot = {r["user_id"]: r for r in accounts.worker().get_ingest_addresses()}
    assert snapshot[people.bob] == changes[-1]
    assert snapshot[people.alice]["active"] is True and snapshot[people.alice]["org_id"] == people.pomme_org


def test_sync_hears_which_calendar_token_hash_opens_a_feed_never_the_token(accounts, people):
    bob = accounts.as_user(people.bob)
    accounts.as_user(people.alice).set_user_active(people.claire, False)  # no token: nothing said
    old = bob.rotate_my_secret("calendar_feed")["value"]
    new = bob.rotate_my_secret("calendar_feed")["value"]
    accounts.as_user(people.alice).set_user_active(people.bob, False)
    accounts.as_user(people.alice).set_user_active(people.bob, True)

    said = [e["record"] for e in accounts.events("calendar_token_changed")]
    assert [(r["user_id"], r["token_hash"]) for r in said] == [
        (people.bob, token_hash(old)),
        (people.bob, token_hash(new)),
        (people.bob, None),
        (people.bob, token_hash(new)),
    ]
    assert all(r["org_id"] == people.pomme_org for r in said)
    assert [(r["changed_at"], r["version"]) for r in said] == sorted(
        (r["changed_at"], r["version"]) for r in said
    )
    assert new not in str(accounts.events("calendar_token_changed"))
