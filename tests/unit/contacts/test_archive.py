"""Archive on delete, restore, purge: companies and contacts (``companies.py``, ``contacts.py``)."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly, ReadOnlyUser
from services.contacts.exceptions import (
    CompanyNotFound,
    ContactNotFound,
    DuplicateContactEmail,
    NotArchived,
)
from tests.people import ALICE, BOB, CLAIRE, DIANE, FRANCOIS, JEANNE, MAGASIN, SIEGE


def _jeanne_at_siege(bob) -> tuple[dict, dict]:
    siege = bob.create_company(SIEGE)
    jeanne = bob.create_contact({**JEANNE, "employments": [{"company_id": siege["id"], "function": "DAF"}]})
    return siege, jeanne


# -- archived lists -------------------------------------------------------------------


def test_archived_records_leave_the_lists_and_are_listed_with_archived(contacts):
    bob = contacts.as_user(BOB)
    siege, jeanne = _jeanne_at_siege(bob)
    bob.create_company(MAGASIN)
    bob.create_contact(FRANCOIS)

    bob.delete_company(siege["id"])
    bob.delete_contact(jeanne["id"])

    assert [c["name"] for c in bob.search_companies(q="Pomme")["items"]] == ["Pomme Magasin"]
    assert [c["last_name"] for c in bob.search_contacts()["items"]] == ["Lefèvre"]
    assert [c["name"] for c in bob.search_companies(archived=True)["items"]] == ["Pomme Siège Central"]
    [archived] = bob.search_contacts(q="Dupont", archived=True)["items"]
    assert archived["id"] == jeanne["id"] and archived["deleted_at"] is not None


def test_an_archived_list_cursor_does_not_page_the_live_list(contacts):
    bob = contacts.as_user(BOB)
    for name in ("Pomme Lille", "Pomme Nantes"):
        bob.delete_company(bob.create_company({"name": name})["id"])

    first = bob.search_companies(archived=True, limit=1)
    assert [c["name"] for c in first["items"]] == ["Pomme Lille"]
    assert [c["name"] for c in bob.search_companies(archived=True, cursor=first["next_cursor"])["items"]] == [
        "Pomme Nantes"
    ]
    with pytest.raises(ValueError, match="cursor"):
        bob.search_companies(cursor=first["next_cursor"])


# -- restore ---------------------------------------------------------------------------


def test_restoring_a_company_brings_back_its_employees_as_current(contacts):
    bob = contacts.as_user(BOB)
    siege, jeanne = _jeanne_at_siege(bob)
    bob.delete_company(siege["id"])
    assert bob.search_contacts(q="Pomme Siège")["items"] == []

    restored = bob.restore_company(siege["id"])

    assert (restored["deleted_at"], restored["version"]) == (None, 3)
    assert [e["contact_id"] for e in bob.get_company(siege["id"])["contacts"]] == [jeanne["id"]]
    [employment] = bob.get_contact(jeanne["id"])["employments"]
    assert employment["current"] is True and employment["company"]["deleted"] is False
    assert [c["id"] for c in bob.search_contacts(q="Pomme Siège")["items"]] == [jeanne["id"]]
    [updated] = contacts.events("company_updated")
    assert updated["record"] == restored
    announced = [event["record"] for event in contacts.events("contact_updated")]
    assert [record["employments"][0]["current"] for record in announced] == [False, True]


def test_restoring_a_contact_brings_back_its_employments_and_interests(contacts):
    bob = contacts.as_user(BOB)
    siege, jeanne = _jeanne_at_siege(bob)
    comptable = bob.create_interest({"name": "Comptable"})
    bob.update_contact(jeanne["id"], {"interests": [comptable["id"]]})
    bob.delete_contact(jeanne["id"])
    assert bob.get_company(siege["id"])["contacts"] == []

    restored = bob.restore_contact(jeanne["id"])

    assert restored["deleted_at"] is None
    assert restored["version"] == 4  # created, interests, archived, restored
    assert restored["interests"] == [comptable["id"]]
    assert [e["company_id"] for e in restored["employments"]] == [siege["id"]]
    assert [e["contact_id"] for e in bob.get_company(siege["id"])["contacts"]] == [jeanne["id"]]
    assert contacts.events("contact_updated")[-1]["record"] == restored
    deleted = contacts.events("contact_deleted")[0]["record"]
    assert deleted["deleted_at"] is not None and deleted["version"] == 3


def test_restoring_a_live_record_is_a_conflict_naming_the_rule_and_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege, jeanne = _jeanne_at_siege(bob)
    footprint, events = contacts.footprint(), contacts.events()

    with pytest.raises(NotArchived, match="not archived"):
        bob.restore_company(siege["id"])
    with pytest.raises(NotArchived, match="not archived"):
        bob.restore_contact(jeanne["id"])

    assert (contacts.footprint(), contacts.events()) == (footprint, events)


def test_a_contact_whose_address_was_taken_meanwhile_is_not_restored(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    bob.delete_contact(jeanne["id"])
    other = bob.create_contact({"last_name": "Dupont-Martin", "email": JEANNE["email"]})

    with pytest.raises(DuplicateContactEmail) as refused:
        bob.restore_contact(jeanne["id"])

    assert refused.value.errors[0]["contact_id"] == other["id"]
    assert bob.search_contacts(archived=True)["items"][0]["id"] == jeanne["id"]


def test_another_organisations_record_is_not_found_and_a_read_only_user_may_not_restore(contacts):
    bob = contacts.as_user(BOB)
    siege, jeanne = _jeanne_at_siege(bob)
    bob.delete_company(siege["id"])
    bob.delete_contact(jeanne["id"])

    with pytest.raises(CompanyNotFound):
        contacts.as_user(DIANE).restore_company(siege["id"])
    with pytest.raises(ContactNotFound):
        contacts.as_user(DIANE).purge_contact(jeanne["id"])
    with pytest.raises(ReadOnlyUser):
        contacts.as_user(CLAIRE).restore_contact(jeanne["id"])


# -- purge -----------------------------------------------------------------------------


def test_only_an_admin_purges_and_only_an_archived_record(contacts):
    bob, alice = contacts.as_user(BOB), contacts.as_user(ALICE)
    siege, jeanne = _jeanne_at_siege(bob)
    footprint = contacts.footprint()

    with pytest.raises(NotArchived, match="archive it"):
        alice.purge_contact(jeanne["id"])
    with pytest.raises(NotArchived, match="archive it"):
        alice.purge_company(siege["id"])
    bob.delete_contact(jeanne["id"])
    with pytest.raises(AdminOnly):
        bob.purge_contact(jeanne["id"])

    assert contacts.footprint()["contacts"] == footprint["contacts"]
    assert contacts.events("contact_purged") == []


def test_purging_a_contact_deletes_it_with_its_employments_and_interests(contacts):
    bob, alice = contacts.as_user(BOB), contacts.as_user(ALICE)
    siege, jeanne = _jeanne_at_siege(bob)
    comptable = bob.create_interest({"name": "Comptable"})
    bob.update_contact(jeanne["id"], {"interests": [comptable["id"]]})
    bob.delete_contact(jeanne["id"])

    assert alice.purge_contact(jeanne["id"]) is None

    assert contacts.footprint()["contacts"] == 0
    assert contacts.footprint()["employments"] == 0
    assert contacts.footprint()["contact_interests"] == 0
    assert contacts.footprint()["companies"] == 1
    with pytest.raises(ContactNotFound):
        alice.restore_contact(jeanne["id"])
    assert bob.search_contacts(archived=True)["items"] == []
    [purged] = contacts.events("contact_purged")
    assert purged["record"] == {"id": jeanne["id"]}
    assert (purged["org_id"], purged["actor_id"]) == (ALICE.org_id, ALICE.user_id)


def test_purging_a_company_takes_it_off_its_contacts_histories(contacts):
    bob, alice = contacts.as_user(BOB), contacts.as_user(ALICE)
    siege, jeanne = _jeanne_at_siege(bob)
    magasin = bob.create_company(MAGASIN)
    bob.add_employment(jeanne["id"], {"company_id": magasin["id"], "function": "Gérante"})
    bob.delete_company(siege["id"])
    before = bob.get_contact(jeanne["id"])["version"]

    alice.purge_company(siege["id"])

    after = bob.get_contact(jeanne["id"])
    assert [e["company_id"] for e in after["employments"]] == [magasin["id"]]
    assert after["version"] == before + 1
    assert contacts.events("contact_updated")[-1]["record"] == after
    assert [event["record"] for event in contacts.events("company_purged")] == [{"id": siege["id"]}]
    with pytest.raises(CompanyNotFound):
        alice.purge_company(siege["id"])
    assert bob.search_companies(archived=True)["items"] == []
