"""Contacts, their e-mail rule and their history, through single contacts workers."""

from __future__ import annotations

import os

import eventlet
import pytest
from sqlalchemy import update

from crm.errors import Conflict, InvalidInput, NotFound
from services.contacts.exceptions import (
    ContactNotFound,
    DuplicateContactEmail,
    IdAlreadyUsed,
    StaleVersion,
)
from services.contacts.models import Contact
from tests.people import ALICE, BOB, DIANE, FRANCOIS, JEANNE, MAGASIN, SIEGE


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


# -- creating ---------------------------------------------------------------------


def test_contact_is_created_with_phones_kept_as_typed_and_in_e164(contacts):
    jeanne = contacts.as_user(BOB).create_contact(JEANNE)

    assert jeanne["created"] is True
    assert (jeanne["first_name"], jeanne["last_name"]) == ("Jeanne", "Dupont")
    assert (jeanne["mobile"], jeanne["mobile_e164"]) == ("+33 6 12 34 56 78", "+33612345678")
    assert (jeanne["phone"], jeanne["phone_e164"]) == ("01 45 67 89 10", "+33145678910")
    assert jeanne["email"] == "jeanne.dupont@exemple.fr"
    assert jeanne["address"]["city"] == "Lyon"
    assert jeanne["note"] == "Préfère être appelée le matin."
    assert jeanne["social"]["linkedin"] == "https://www.linkedin.com/in/jeanne-dupont"
    assert (jeanne["interests"], jeanne["employments"], jeanne["version"]) == ([], [], 1)


def test_francois_stays_francois(contacts):
    francois = contacts.as_user(BOB).create_contact(FRANCOIS)

    assert contacts.as_user(BOB).get_contact(francois["id"])["first_name"] == "François"


@pytest.mark.parametrize("names", [{"first_name": "Jeanne"}, {"last_name": "Dupont"}])
def test_a_first_name_or_a_last_name_is_enough(contacts, names):
    assert contacts.as_user(BOB).create_contact(names)["created"] is True


def test_contact_without_any_name_is_refused_naming_last_name(contacts):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_contact({"email": "sans.nom@exemple.fr", "first_name": " "})

    assert _fields(raised.value) == ["last_name"]
    assert contacts.footprint()["contacts"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mobile", "06 12 34"),
        ("phone", "joignable le soir"),
        ("email", "jeanne@@exemple.fr"),
        ("note", "n" * 10_001),
        ("first_name", "Jeanne\x07"),
        ("social", {"tiktok": "@jeanne"}),
        ("interests", "Comptable"),
    ],
)
def test_bad_contact_field_is_refused_naming_it(contacts, field, value):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_contact({**JEANNE, field: value})

    assert _fields(raised.value)[0].split(".")[0] == field
    assert contacts.footprint()["contacts"] == 0


def test_unknown_interest_is_refused_naming_its_position(contacts):
    bob = contacts.as_user(BOB)
    comptable = bob.create_interest({"name": "Comptable"})

    with pytest.raises(InvalidInput) as raised:
        bob.create_contact({**JEANNE, "interests": [comptable["id"], "interet-inconnu"]})

    assert _fields(raised.value) == ["interests.1"]


# -- one contact per e-mail address -------------------------------------------------


def test_second_contact_with_an_email_is_a_conflict_naming_the_existing_contact(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    before = contacts.footprint()

    with pytest.raises(DuplicateContactEmail) as raised:
        bob.create_contact({**FRANCOIS, "email": "JEANNE.DUPONT@exemple.fr"})

    error = raised.value
    assert isinstance(error, Conflict)
    assert jeanne["id"] in error.detail
    assert error.errors == [
        {
            "field": "email",
            "message": f"already belongs to contact {jeanne['id']}",
            "contact_id": jeanne["id"],
        }
    ]
    assert contacts.footprint() == before


def test_changing_an_email_to_one_another_contact_has_is_a_conflict(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    francois = bob.create_contact(FRANCOIS)

    with pytest.raises(DuplicateContactEmail) as raised:
        bob.update_contact(francois["id"], {"email": "jeanne.dupont@exemple.fr"})

    assert raised.value.errors[0]["contact_id"] == jeanne["id"]
    assert bob.get_contact(francois["id"])["email"] == "francois.lefevre@exemple.fr"


def test_same_email_in_another_organisation_is_allowed(contacts):
    contacts.as_user(BOB).create_contact(JEANNE)

    assert contacts.as_user(DIANE).create_contact(JEANNE)["created"] is True


def test_email_of_a_deleted_contact_is_free_again(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    bob.delete_contact(jeanne["id"])

    again = bob.create_contact(JEANNE)

    assert again["id"] != jeanne["id"]


def test_contact_keeps_its_own_email_on_update(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    updated = bob.update_contact(
        jeanne["id"], {"email": "Jeanne.Dupont@exemple.fr", "last_name": "Dupont-Moreau"}
    )

    assert (updated["email"], updated["last_name"]) == ("jeanne.dupont@exemple.fr", "Dupont-Moreau")


# -- idempotent create --------------------------------------------------------------


def test_create_with_the_same_id_and_content_returns_the_existing_contact(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company({**SIEGE, "id": "pomme-siege"})
    request = {
        **JEANNE,
        "id": "jeanne-dupont",
        "employments": [{"company_id": siege["id"], "function": "DAF"}],
    }
    first = bob.create_contact(request)
    footprint = contacts.footprint()

    replay = bob.create_contact(request)

    assert (first["created"], replay["created"]) == (True, False)
    assert {**replay, "created": True} == first
    assert contacts.footprint() == footprint


def test_create_with_the_same_id_and_other_content_is_a_conflict_naming_id(contacts):
    bob = contacts.as_user(BOB)
    bob.create_contact({**JEANNE, "id": "jeanne-dupont"})

    with pytest.raises(IdAlreadyUsed) as raised:
        bob.create_contact({**JEANNE, "id": "jeanne-dupont", "mobile": "+33 6 98 76 54 32"})

    assert _fields(raised.value) == ["id"]


def test_replay_of_a_deleted_contacts_create_is_a_conflict(contacts):
    bob = contacts.as_user(BOB)
    bob.create_contact({**JEANNE, "id": "jeanne-dupont"})
    bob.delete_contact("jeanne-dupont")

    with pytest.raises(IdAlreadyUsed):
        bob.create_contact({**JEANNE, "id": "jeanne-dupont"})


# -- updating ---------------------------------------------------------------------


def test_update_changes_the_fields_given_and_emits_contact_updated(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    updated = bob.update_contact(
        jeanne["id"], {"mobile": "07 98 76 54 32", "address": {"city": "Villeurbanne"}}
    )

    assert (updated["mobile"], updated["mobile_e164"], updated["version"]) == (
        "07 98 76 54 32",
        "+33798765432",
        2,
    )
    assert updated["address"] == {**JEANNE["address"], "city": "Villeurbanne", "position": None}
    (event,) = contacts.events("contact_updated")
    assert (event["actor_id"], event["record"]) == ("user-bob", updated)


def test_update_resending_the_same_email_with_a_new_name_is_announced_with_a_new_version(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    updated = bob.update_contact(
        jeanne["id"], {"last_name": "Dupont-Moreau", "email": "Jeanne.Dupont@exemple.fr"}
    )

    assert (updated["version"], updated["last_name"]) == (2, "Dupont-Moreau")
    (event,) = contacts.events("contact_updated")
    assert event["record"] == updated
    assert [c["id"] for c in bob.search_contacts(q="dupont-moreau")["items"]] == [jeanne["id"]]


def test_both_names_cannot_be_cleared(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact({"first_name": "Jeanne"})

    with pytest.raises(InvalidInput) as raised:
        bob.update_contact(jeanne["id"], {"first_name": None})

    assert _fields(raised.value) == ["last_name"]


def test_update_with_a_stale_version_is_a_conflict(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    bob.update_contact(jeanne["id"], {"note": "Rappeler en mars.", "version": 1})

    with pytest.raises(StaleVersion) as raised:
        bob.update_contact(jeanne["id"], {"note": "Rappeler en avril.", "version": 1})

    assert _fields(raised.value) == ["version"]
    assert bob.get_contact(jeanne["id"])["note"] == "Rappeler en mars."


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="concurrent transactions: PostgreSQL")
def test_an_edit_that_waited_for_another_of_the_same_version_is_a_conflict(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    with contacts.db.transaction() as uow:  # another editor's save of version 1, not yet committed
        uow.session.execute(
            update(Contact).where(Contact.id == jeanne["id"]).values(note="Rappeler en mars.", version=2)
        )
        waiting = eventlet.spawn(
            bob.update_contact, jeanne["id"], {"note": "Rappeler en avril.", "version": 1}
        )
        eventlet.sleep(0.5)  # it reads the contact while the other save holds it

    with pytest.raises(StaleVersion):
        waiting.wait()
    assert bob.get_contact(jeanne["id"])["note"] == "Rappeler en mars."


def test_interests_are_replaced_as_a_list(contacts):
    bob = contacts.as_user(BOB)
    libre = bob.create_interest({"name": "Libre"})
    comptable = bob.create_interest({"name": "Comptable"})
    jeanne = bob.create_contact({**JEANNE, "interests": [libre["id"]]})

    updated = bob.update_contact(jeanne["id"], {"interests": [comptable["id"], comptable["id"]]})

    assert updated["interests"] == [comptable["id"]]
    assert updated["version"] == 2


def test_update_that_changes_nothing_is_not_announced(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    same = bob.update_contact(jeanne["id"], {"first_name": "Jeanne", "interests": []})

    assert same["version"] == 1
    assert contacts.events("contact_updated") == []


# -- history ------------------------------------------------------------------------


def test_history_lists_every_company_latest_start_first(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    magasin = bob.create_company(MAGASIN)
    jeanne = bob.create_contact(
        {
            **JEANNE,
            "employments": [
                {
                    "company_id": magasin["id"],
                    "function": "Vendeuse",
                    "start_date": "2012-03-01",
                    "end_date": "2016-08-31",
                },
                {"company_id": siege["id"], "function": "DAF", "start_date": "2016-09-01"},
                {"company_id": magasin["id"], "function": "Stagiaire"},
            ],
        }
    )

    history = bob.get_contact(jeanne["id"])["employments"]

    assert [(e["company"]["name"], e["function"], e["current"]) for e in history] == [
        ("Pomme Siège Central", "DAF", True),
        ("Pomme Magasin", "Vendeuse", False),
        ("Pomme Magasin", "Stagiaire", True),
    ]
    assert history[0]["company"] == {
        "id": siege["id"],
        "name": "Pomme Siège Central",
        "group": "Pomme",
        "deleted": False,
    }


def test_contact_cannot_be_employed_at_another_organisations_company(contacts):
    poire = contacts.as_user(DIANE).create_company({"name": "Poire Distribution"})
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_contact({**JEANNE, "employments": [{"company_id": poire["id"]}]})

    assert _fields(raised.value) == ["employments.0.company_id"]
    assert contacts.footprint() == before


def test_contact_cannot_be_created_employed_at_an_archived_company(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    magasin = bob.create_company(MAGASIN)
    contacts.as_user(ALICE).delete_company(magasin["id"])
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        bob.create_contact(
            {**JEANNE, "employments": [{"company_id": siege["id"]}, {"company_id": magasin["id"]}]}
        )

    assert _fields(raised.value) == ["employments.1.company_id"]
    assert contacts.footprint() == before


def test_creating_a_contact_emits_contact_created_with_its_employments(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    jeanne = bob.create_contact({**JEANNE, "employments": [{"company_id": siege["id"], "function": "DAF"}]})

    (event,) = contacts.events("contact_created")
    assert event["record"] == {key: value for key, value in jeanne.items() if key != "created"}
    assert event["record"]["employments"][0]["function"] == "DAF"


# -- reading and deleting -------------------------------------------------------------


def test_another_organisations_contact_is_not_found(contacts):
    jeanne = contacts.as_user(BOB).create_contact(JEANNE)
    diane = contacts.as_user(DIANE)

    with pytest.raises(ContactNotFound):
        diane.get_contact(jeanne["id"])
    with pytest.raises(NotFound):
        diane.update_contact(jeanne["id"], {"note": "Poire"})
    with pytest.raises(NotFound):
        diane.delete_contact(jeanne["id"])
    assert contacts.as_user(BOB).get_contact(jeanne["id"])["note"] == JEANNE["note"]


def test_deleted_contact_is_not_found_and_its_deletion_is_announced(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    bob.delete_contact(jeanne["id"])

    with pytest.raises(ContactNotFound):
        bob.get_contact(jeanne["id"])
    (event,) = contacts.events("contact_deleted")
    assert event["record"]["id"] == jeanne["id"]
    assert event["record"]["deleted_at"] is not None
    assert bob.search_contacts(q="Dupont")["items"] == []


def test_deleted_contact_leaves_its_companys_employees(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    jeanne = bob.create_contact({**JEANNE, "employments": [{"company_id": siege["id"]}]})

    bob.delete_contact(jeanne["id"])

    assert bob.get_company(siege["id"])["contacts"] == []


def test_deleting_a_deleted_contact_again_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    bob.delete_contact(jeanne["id"])
    footprint = contacts.footprint()

    bob.delete_contact(jeanne["id"])

    assert contacts.footprint() == footprint
