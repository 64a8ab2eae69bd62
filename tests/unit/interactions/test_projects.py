"""Projects and their planning through single workers."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions.exceptions import IdAlreadyUsed, ProjectNotFound
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE

RENOVATION = {
    "name": "Rénovation Pomme Siège Central",
    "description": "Travaux du 3e étage",
    "start_date": "2026-11-01",
    "end_date": "2027-02-28",
    "user_ids": [ALICE.user_id, BOB.user_id],
    "contact_ids": [JEANNE],
    "company_ids": [SIEGE],
}


def create(interactions, person=BOB, **fields) -> dict:
    return interactions.as_user(person).create_project({**RENOVATION, **fields})


def test_a_project_is_created_with_its_users_contacts_and_companies(interactions):
    created = create(interactions)
    assert created["created"] is True
    assert (created["start_date"], created["end_date"]) == ("2026-11-01", "2027-02-28")
    assert created["user_ids"] == sorted([ALICE.user_id, BOB.user_id])
    assert (created["contact_ids"], created["company_ids"]) == ([JEANNE], [SIEGE])
    shown = interactions.as_user(CLAIRE).get_project(created["id"])
    assert shown == {key: value for key, value in created.items() if key != "created"}
    [event] = interactions.events("project_created")
    assert (event["actor_id"], event["record"]["id"]) == (BOB.user_id, created["id"])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end_date": "2026-10-31"}, "end_date"),
        ({"start_date": "1er novembre"}, "start_date"),
        ({"user_ids": [BOB.user_id, DIANE.user_id]}, "user_ids.1"),
        ({"contact_ids": ["contact-inconnu"]}, "contact_ids.0"),
        ({"company_ids": ["societe-inconnue"]}, "company_ids.0"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_project_input_names_the_field_and_changes_nothing(interactions, fields, field):
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        create(interactions, **fields)
    assert field in [error["field"] for error in refused.value.errors]
    assert interactions.footprint() == before


def test_a_read_only_user_cannot_create_change_or_delete_a_project(interactions):
    created = create(interactions)
    before = interactions.footprint()
    with pytest.raises(ReadOnlyUser):
        create(interactions, person=CLAIRE)
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).update_project(created["id"], {"name": "Autre"})
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).delete_project(created["id"])
    assert interactions.footprint() == before


def test_creating_a_project_again_with_the_same_id_is_a_replay(interactions):
    first = create(interactions, id="0192f000-0000-7000-8000-0000000000b1")
    again = create(interactions, id="0192f000-0000-7000-8000-0000000000b1")
    assert (again["id"], again["created"]) == (first["id"], False)
    assert len(interactions.events("project_created")) == 1
    with pytest.raises(IdAlreadyUsed):
        create(interactions, id="0192f000-0000-7000-8000-0000000000b1", name="Autre projet")


def test_an_update_replaces_the_lists_given_and_is_announced(interactions):
    created = create(interactions)
    changed = interactions.as_user(ALICE).update_project(
        created["id"], {"user_ids": [ALICE.user_id], "end_date": "2027-03-31"}
    )
    assert (changed["user_ids"], changed["contact_ids"]) == ([ALICE.user_id], [JEANNE])
    assert changed["end_date"] == "2027-03-31"
    [event] = interactions.events("project_updated")
    assert event["record"]["user_ids"] == [ALICE.user_id]


def test_an_update_that_changes_nothing_announces_nothing(interactions):
    created = create(interactions)
    again = interactions.as_user(BOB).update_project(created["id"], {"name": RENOVATION["name"]})
    assert again["updated_at"] == created["updated_at"]
    assert interactions.events("project_updated") == []


def test_an_end_before_the_kept_start_is_refused_and_changes_nothing(interactions):
    created = create(interactions)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).update_project(created["id"], {"end_date": "2026-10-01", "user_ids": []})
    assert [error["field"] for error in refused.value.errors] == ["end_date"]
    assert interactions.as_user(BOB).get_project(created["id"])["user_ids"] == created["user_ids"]


def test_a_deleted_project_is_not_found_and_leaves_the_list(interactions):
    created = create(interactions)
    create(interactions, name="Salon Batimat", user_ids=[BOB.user_id])
    interactions.as_user(BOB).delete_project(created["id"])
    interactions.as_user(BOB).delete_project(created["id"])  # a replayed delete
    with pytest.raises(ProjectNotFound):
        interactions.as_user(BOB).get_project(created["id"])
    assert [item["name"] for item in interactions.as_user(BOB).list_projects({})["items"]] == [
        "Salon Batimat"
    ]
    assert [event["record"]["id"] for event in interactions.events("project_deleted")] == [created["id"]]


def test_projects_are_listed_newest_first_and_filtered_by_user(interactions):
    renovation = create(interactions)
    salon = create(interactions, name="Salon Batimat", user_ids=[BOB.user_id])
    everything = interactions.as_user(BOB).list_projects({"limit": 1})
    assert [item["id"] for item in everything["items"]] == [salon["id"]]
    rest = interactions.as_user(BOB).list_projects({"limit": 1, "cursor": everything["next_cursor"]})
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([renovation["id"]], None)
    alices = interactions.as_user(BOB).list_projects({"user_id": ALICE.user_id})
    assert [item["id"] for item in alices["items"]] == [renovation["id"]]


def test_another_org_cannot_see_change_or_plan_a_project(interactions):
    created = create(interactions)
    poire = interactions.as_user(DIANE)
    with pytest.raises(ProjectNotFound):
        poire.get_project(created["id"])
    with pytest.raises(ProjectNotFound):
        poire.update_project(created["id"], {"name": "Volé"})
    with pytest.raises(ProjectNotFound):
        poire.delete_project(created["id"])
    with pytest.raises(ProjectNotFound):
        poire.project_planning(created["id"], {"since": "2026-11-01", "until": "2026-12-31"})
    assert poire.list_projects({})["items"] == []


def test_a_project_planning_lists_its_interactions(interactions):
    project = create(interactions)
    other = create(interactions, name="Salon Batimat")

    def meeting(subject: str, start: str, project_id: str = project["id"]) -> dict:
        data = {"subject": subject, "type": "meeting", "start_at": start, "project_id": project_id}
        return interactions.as_user(BOB).create_interaction(data)

    chantier = meeting("Réunion chantier", "2026-12-02T09:00:00+01:00")
    visite = meeting("Visite de chantier", "2026-12-01T14:00:00+01:00")
    meeting("Réception des travaux", "2027-01-15T09:00:00+01:00")
    meeting("Stand Batimat", "2026-12-01T10:00:00+01:00", project_id=other["id"])
    plan = interactions.as_user(CLAIRE).project_planning(
        project["id"], {"since": "2026-12-01", "until": "2026-12-31"}
    )
    assert plan["project"]["name"] == RENOVATION["name"]
    assert [item["id"] for item in plan["interactions"]] == [visite["id"], chantier["id"]]
    assert plan["interactions"][0]["subject"] == "Visite de chantier"
    assert plan["interactions"][0]["project_id"] == project["id"]


def test_a_cursor_that_names_no_project_is_refused_not_the_first_page(interactions):
    create(interactions)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).list_projects({"cursor": "zzzz"})
    assert refused.value.errors[0]["field"] == "cursor"
    with pytest.raises(InvalidInput):  # a project of another organisation
        interactions.as_user(DIANE).list_projects({"cursor": create(interactions)["id"]})
