"""Interactions (create, change, read, delete) through single workers."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions.exceptions import (
    IdAlreadyUsed,
    InteractionNotFound,
    StaleVersion,
)
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE
from tests.unit.interactions.meetings import create


def test_an_interaction_is_created_with_the_first_status_of_its_type(interactions):
    created = create(interactions)
    assert (created["status"], created["owner_id"], created["created"]) == ("planned", ALICE.user_id, True)
    assert created["start_at"] == "2026-12-01T08:00:00+00:00"
    assert created["budget"] == {"amount": "1200.00", "currency": "EUR"}
    assert (created["contact_ids"], created["company_ids"]) == ([JEANNE], [SIEGE])
    assert interactions.events("interaction_created")[0]["record"]["id"] == created["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end_at": "2026-12-01T08:00:00+01:00"}, "end_at"),
        ({"type": "rendez_vous"}, "type"),
        ({"status": "gagnee"}, "status"),
        ({"budget": {"amount": "10.00", "currency": "EUROS"}}, "budget.currency"),
        ({"contact_ids": ["contact-inconnu"]}, "contact_ids.0"),
        ({"owner_id": DIANE.user_id}, "owner_id"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(interactions, fields, field):
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        create(interactions, **fields)
    assert field in [error["field"] for error in refused.value.errors]
    assert interactions.footprint() == before


def test_another_org_cannot_see_an_interaction(interactions):
    created = create(interactions)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).get_interaction(created["id"])


def test_read_only_users_cannot_create(interactions):
    with pytest.raises(ReadOnlyUser):
        create(interactions, person=CLAIRE)


def test_a_stale_version_is_refused(interactions):
    created = create(interactions)
    interactions.as_user(BOB).update_interaction(created["id"], {"version": 1, "status": "confirmed"})
    with pytest.raises(StaleVersion):
        interactions.as_user(BOB).update_interaction(created["id"], {"version": 1, "status": "done"})


def test_creating_again_with_the_same_id_and_content_is_a_replay(interactions):
    first = create(interactions, id="0192f000-0000-7000-8000-000000000001")
    again = create(interactions, id="0192f000-0000-7000-8000-000000000001")
    assert (again["id"], again["created"]) == (first["id"], False)


def test_creating_again_with_the_same_id_and_another_description_is_a_conflict(interactions):
    create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter les plans")
    with pytest.raises(IdAlreadyUsed):
        create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter le devis")
    again = create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter les plans")
    assert again["created"] is False


@pytest.mark.parametrize("field", ["subject", "type", "status", "start_at", "all_day", "owner_id"])
def test_an_update_cannot_empty_a_field_an_interaction_needs(interactions, field):
    created = create(interactions)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(ALICE).update_interaction(created["id"], {field: None})
    assert [error["field"] for error in refused.value.errors] == [field]


def test_the_list_pages_on_and_refuses_a_cursor_it_never_issued(interactions):
    older, newer = create(interactions), create(interactions)
    first = interactions.as_user(BOB).list_interactions({"limit": 1})
    rest = interactions.as_user(BOB).list_interactions({"limit": 1, "cursor": first["next_cursor"]})
    assert [first["items"][0]["id"], rest["items"][0]["id"]] == [newer["id"], older["id"]]
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).list_interactions({"cursor": "zzzz"})
    assert refused.value.errors == [{"field": "cursor", "message": "not a cursor of this list"}]


def test_updated_since_keeps_only_the_interactions_changed_since(interactions):
    older = create(interactions)
    interactions.as_user(BOB).update_interaction(older["id"], {"version": older["version"], "status": "done"})
    changed = interactions.as_user(BOB).get_interaction(older["id"])["updated_at"]
    create(interactions)

    since = interactions.as_user(BOB).list_interactions({"updated_since": changed})["items"]
    later = interactions.as_user(BOB).list_interactions({"updated_since": "2999-01-01T00:00:00Z"})["items"]

    assert older["id"] in [item["id"] for item in since]
    assert later == []
    with pytest.raises(InvalidInput):
        interactions.as_user(BOB).list_interactions({"updated_since": "2026-12-01T09:00:00"})
