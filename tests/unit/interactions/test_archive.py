"""Archive on delete, restore, purge: interactions and projects (``interactions.py``, ``projects.py``)."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly, ReadOnlyUser
from services.interactions.exceptions import (
    InteractionNotFound,
    NotArchived,
    NotInteractionOwner,
    ProjectNotFound,
)
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE
from tests.unit.interactions.meetings import create

RENOVATION = {"name": "Rénovation Pomme Siège Central", "user_ids": [BOB.user_id], "company_ids": [SIEGE]}
CHAMBORD = {"name": "Salle Chambord", "kind": "room"}


def _listed(worker, **query) -> list[str]:
    return [item["id"] for item in worker.list_interactions(query)["items"]]


# -- who archives an interaction ----------------------------------------------------------------


def test_a_member_may_not_delete_a_colleagues_interaction_and_nothing_changes(interactions):
    reunion = create(interactions, person=ALICE)
    before, events = interactions.footprint(), interactions.events()

    with pytest.raises(NotInteractionOwner, match="only the interaction's owner"):
        interactions.as_user(BOB).delete_interaction(reunion["id"])

    assert (interactions.footprint(), interactions.events()) == (before, events)
    assert _listed(interactions.as_user(BOB)) == [reunion["id"]]


def test_the_owner_or_an_admin_deletes_an_interaction(interactions):
    own = create(interactions, person=BOB)
    colleagues = create(interactions, person=BOB, subject="Appel Jeanne Dupont")

    interactions.as_user(BOB).delete_interaction(own["id"])
    interactions.as_user(ALICE).delete_interaction(colleagues["id"])  # an admin

    assert _listed(interactions.as_user(BOB)) == []


def test_a_read_only_user_may_not_delete_their_own_interaction(interactions):
    reunion = create(interactions, person=ALICE, owner_id=CLAIRE.user_id)
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).delete_interaction(reunion["id"])


# -- archive and restore ------------------------------------------------------------------------


def test_an_archived_interaction_keeps_its_links_and_is_listed_with_archived(interactions):
    alice = interactions.as_user(ALICE)
    reunion = create(interactions)
    alice.append_note(reunion["id"], {"text": "Plans validés"})
    room = alice.create_resource(dict(CHAMBORD))
    alice.book_resource(reunion["id"], room["id"])

    assert alice.delete_interaction(reunion["id"]) is None
    alice.delete_interaction(reunion["id"])  # a replayed delete changes nothing

    assert _listed(alice) == []
    assert _listed(alice, contact_id=JEANNE) == []
    [archived] = alice.list_interactions({"archived": "true"})["items"]
    assert (archived["contact_ids"], archived["company_ids"]) == ([JEANNE], [SIEGE])
    assert archived["resource_ids"] == []  # the room is free for others
    [deleted] = interactions.events("interaction_deleted")
    assert deleted["record"] == archived
    assert (archived["version"], archived["deleted_at"] is not None) == (2, True)
    with pytest.raises(InteractionNotFound):
        alice.get_interaction(reunion["id"])


def test_restoring_an_interaction_brings_it_back_with_its_links_and_notes(interactions):
    alice, bob = interactions.as_user(ALICE), interactions.as_user(BOB)
    reunion = create(interactions)
    alice.append_note(reunion["id"], {"text": "Plans validés"})
    alice.delete_interaction(reunion["id"])

    restored = bob.restore_interaction(reunion["id"])  # any writer restores

    assert (restored["version"], restored["deleted_at"]) == (3, None)
    assert (restored["contact_ids"], restored["company_ids"]) == ([JEANNE], [SIEGE])
    assert bob.get_interaction(reunion["id"]) == restored
    assert [note["text"] for note in bob.list_notes(reunion["id"])] == ["Plans validés"]
    assert _listed(bob, company_id=SIEGE) == [reunion["id"]]
    assert interactions.events("interaction_updated")[-1]["record"] == restored


def test_restoring_a_live_interaction_or_project_is_a_conflict_and_changes_nothing(interactions):
    bob = interactions.as_user(BOB)
    reunion = create(interactions)
    renovation = bob.create_project(RENOVATION)
    before, events = interactions.footprint(), interactions.events()

    with pytest.raises(NotArchived, match="not archived"):
        bob.restore_interaction(reunion["id"])
    with pytest.raises(NotArchived, match="not archived"):
        bob.restore_project(renovation["id"])

    assert (interactions.footprint(), interactions.events()) == (before, events)


def test_another_organisations_records_are_not_found(interactions):
    reunion = create(interactions)
    renovation = interactions.as_user(BOB).create_project(RENOVATION)
    interactions.as_user(ALICE).delete_interaction(reunion["id"])
    interactions.as_user(ALICE).delete_project(renovation["id"])
    diane = interactions.as_user(DIANE)

    with pytest.raises(InteractionNotFound):
        diane.delete_interaction(reunion["id"])
    with pytest.raises(InteractionNotFound):
        diane.restore_interaction(reunion["id"])
    with pytest.raises(InteractionNotFound):
        diane.purge_interaction(reunion["id"])
    with pytest.raises(ProjectNotFound):
        diane.restore_project(renovation["id"])
    assert diane.list_interactions({"archived": "true"})["items"] == []


# -- purge --------------------------------------------------------------------------------------


def test_only_an_admin_purges_and_only_an_archived_interaction(interactions):
    reunion = create(interactions, person=BOB)
    with pytest.raises(NotArchived, match="archive it"):
        interactions.as_user(ALICE).purge_interaction(reunion["id"])
    interactions.as_user(BOB).delete_interaction(reunion["id"])
    before = interactions.footprint()

    with pytest.raises(AdminOnly):
        interactions.as_user(BOB).purge_interaction(reunion["id"])

    assert interactions.footprint() == before


def test_purging_an_interaction_deletes_what_belongs_to_it_alone(interactions):
    alice = interactions.as_user(ALICE)
    reunion = create(interactions)
    alice.append_note(reunion["id"], {"text": "Plans validés"})
    alice.add_document_link(
        reunion["id"], {"name": "Plans", "document_type": "plan", "url": "https://pomme.fr/p"}
    )
    alice.delete_interaction(reunion["id"])

    assert alice.purge_interaction(reunion["id"]) is None

    for table in ("interactions", "interaction_links", "notes", "documents", "participants", "bookings"):
        assert interactions.count(table) == 0, table
    assert [event["record"] for event in interactions.events("interaction_purged")] == [{"id": reunion["id"]}]
    with pytest.raises(InteractionNotFound):
        alice.restore_interaction(reunion["id"])


# -- projects -----------------------------------------------------------------------------------


def test_an_archived_project_carries_its_record_and_comes_back_with_its_links(interactions):
    bob = interactions.as_user(BOB)
    renovation = bob.create_project(RENOVATION)
    assert renovation["version"] == 1

    bob.delete_project(renovation["id"])

    [deleted] = interactions.events("project_deleted")
    assert (deleted["record"]["version"], deleted["record"]["deleted_at"] is not None) == (2, True)
    assert bob.list_projects({})["items"] == []
    assert bob.list_projects({"archived": "true"})["items"] == [deleted["record"]]
    restored = bob.restore_project(renovation["id"])
    assert (restored["version"], restored["deleted_at"]) == (3, None)
    assert (restored["user_ids"], restored["company_ids"]) == ([BOB.user_id], [SIEGE])
    assert interactions.events("project_updated")[-1]["record"] == restored
    assert [p["id"] for p in bob.list_projects({"company_id": SIEGE})["items"]] == [renovation["id"]]


def test_purging_a_project_leaves_its_interactions_out_of_any_project(interactions):
    alice, bob = interactions.as_user(ALICE), interactions.as_user(BOB)
    renovation = bob.create_project(RENOVATION)
    reunion = create(interactions, project_id=renovation["id"])
    with pytest.raises(NotArchived, match="archive it"):
        alice.purge_project(renovation["id"])
    bob.delete_project(renovation["id"])
    with pytest.raises(AdminOnly):
        bob.purge_project(renovation["id"])

    alice.purge_project(renovation["id"])

    shown = bob.get_interaction(reunion["id"])
    assert (shown["project_id"], shown["version"]) == (None, 2)
    assert interactions.events("interaction_updated")[-1]["record"] == shown
    assert [event["record"] for event in interactions.events("project_purged")] == [{"id": renovation["id"]}]
    assert (interactions.count("projects"), interactions.count("project_links")) == (0, 0)
    with pytest.raises(ProjectNotFound):
        bob.restore_project(renovation["id"])
