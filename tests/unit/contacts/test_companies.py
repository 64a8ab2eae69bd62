"""Companies and their sites, through single contacts workers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import Conflict, InvalidInput, NotFound
from services.contacts.exceptions import CompanyNotFound, IdAlreadyUsed, StaleVersion
from services.contacts.lookups import today
from tests.people import ALICE, BOB, CABINET, DIANE, FRANCOIS, JEANNE, MAGASIN, SIEGE


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


# -- creating ---------------------------------------------------------------------


def test_company_is_created_with_every_field_as_given(contacts):
    siege = contacts.as_user(BOB).create_company(SIEGE)

    assert siege["created"] is True
    assert (siege["org_id"], siege["name"], siege["group"]) == ("org-pomme", "Pomme Siège Central", "Pomme")
    assert siege["address"] == {**SIEGE["address"], "position": None}
    assert (siege["phone"], siege["phone_e164"]) == ("01 42 68 53 00", "+33142685300")
    assert siege["email"] == "accueil@pomme.fr"
    assert siege["social"] == {
        "linkedin": "https://www.linkedin.com/company/pomme",
        "facebook": None,
        "x": "@pomme",
        "viadeo": None,
    }
    assert siege["notes"] == "Siège social.\nAccueil au 3e étage."
    assert siege["tags"] == ["client", "grand compte"]
    assert (siege["version"], siege["deleted_at"]) == (1, None)
    assert contacts.as_user(BOB).get_company(siege["id"])["name"] == "Pomme Siège Central"


def test_company_needs_a_name(contacts):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_company({"group": "Pomme"})

    assert _fields(raised.value) == ["name"]


def test_blank_optional_fields_count_as_not_given(contacts):
    company = contacts.as_user(BOB).create_company({"name": "Pomme Magasin", "phone": "", "email": " "})

    assert (company["phone"], company["email"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "06 12"),
        ("phone", "pas de téléphone"),
        ("email", "accueil@"),
        ("notes", "x" * 10_001),
        ("name", "P" * 201),
        ("tags", ["client", ""]),
        ("website", "www.pomme .fr"),
    ],
)
def test_bad_company_field_is_refused_naming_it(contacts, field, value):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_company({"name": "Pomme Magasin", field: value})

    assert _fields(raised.value)[0].split(".")[0] == field
    assert contacts.footprint()["companies"] == 0


def test_tags_are_kept_once_whatever_their_case(contacts):
    company = contacts.as_user(BOB).create_company({**MAGASIN, "tags": ["Client", "client", "VIP"]})

    assert company["tags"] == ["Client", "VIP"]


def test_notes_may_hold_ten_thousand_characters_on_several_lines(contacts):
    notes = ("Ligne de notes.\n" * 700)[:10_000]

    company = contacts.as_user(BOB).create_company({**MAGASIN, "notes": notes})

    assert company["notes"] == notes


def test_phone_without_country_code_is_read_in_the_configured_region(contacts):
    belgian = contacts.settings.model_copy(
        update={"contacts": contacts.settings.contacts.model_copy(update={"default_phone_region": "BE"})}
    )
    worker = contacts.as_user(BOB)
    worker.config = {"CRM": belgian}

    company = worker.create_company({**MAGASIN, "phone": "02 555 12 12"})

    assert company["phone_e164"] == "+3225551212"


# -- idempotent create ------------------------------------------------------------


def test_create_with_the_same_id_and_content_returns_the_existing_company(contacts):
    bob = contacts.as_user(BOB)
    first = bob.create_company({**SIEGE, "id": "pomme-siege"})
    footprint = contacts.footprint()

    replay = bob.create_company({**SIEGE, "id": "pomme-siege"})

    assert (first["created"], replay["created"]) == (True, False)
    assert {**replay, "created": True} == first
    assert contacts.footprint() == footprint


def test_create_with_the_same_id_and_other_content_is_a_conflict_naming_id(contacts):
    bob = contacts.as_user(BOB)
    bob.create_company({**SIEGE, "id": "pomme-siege"})

    with pytest.raises(IdAlreadyUsed) as raised:
        bob.create_company({**SIEGE, "id": "pomme-siege", "name": "Pomme Siège"})

    assert isinstance(raised.value, Conflict)
    assert _fields(raised.value) == ["id"]


def test_id_of_another_organisations_company_cannot_be_reused(contacts):
    contacts.as_user(BOB).create_company({**SIEGE, "id": "pomme-siege"})

    with pytest.raises(IdAlreadyUsed):
        contacts.as_user(DIANE).create_company({**SIEGE, "id": "pomme-siege"})


# -- updating ---------------------------------------------------------------------


def test_update_changes_only_the_fields_given_and_bumps_the_version(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    updated = bob.update_company(siege["id"], {"phone": "+33 1 42 68 53 01", "address": {"city": "Boulogne"}})

    assert updated["version"] == 2
    assert (updated["phone"], updated["phone_e164"]) == ("+33 1 42 68 53 01", "+33142685301")
    assert updated["address"] == {**SIEGE["address"], "city": "Boulogne", "position": None}
    assert (updated["name"], updated["email"], updated["tags"]) == (
        siege["name"],
        siege["email"],
        siege["tags"],
    )


def test_null_clears_a_field_and_social_profiles_merge(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    updated = bob.update_company(
        siege["id"], {"website": None, "social": {"x": None, "viadeo": "pomme-sa"}, "address": None}
    )

    assert updated["website"] is None
    assert updated["social"] == {
        "linkedin": "https://www.linkedin.com/company/pomme",
        "facebook": None,
        "x": None,
        "viadeo": "pomme-sa",
    }
    assert updated["address"] == {
        "street": None,
        "postal_code": None,
        "city": None,
        "country": None,
        "position": None,
    }


def test_name_cannot_be_cleared(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    with pytest.raises(InvalidInput) as raised:
        bob.update_company(siege["id"], {"name": None})

    assert _fields(raised.value) == ["name"]


def test_update_with_a_stale_version_is_a_conflict_and_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    bob.update_company(siege["id"], {"notes": "Nouveau standard.", "version": 1})

    with pytest.raises(StaleVersion) as raised:
        bob.update_company(siege["id"], {"name": "Pomme Siège", "version": 1})

    assert _fields(raised.value) == ["version"]
    assert bob.get_company(siege["id"])["name"] == "Pomme Siège Central"


def test_update_that_changes_nothing_keeps_the_version_and_announces_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    same = bob.update_company(
        siege["id"], {"name": "Pomme Siège Central", "tags": ["client", "grand compte"]}
    )

    assert same["version"] == 1
    assert contacts.events("company_updated") == []


def test_update_emits_company_updated_with_the_record(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    updated = bob.update_company(siege["id"], {"name": "Pomme Siège Social"})

    (event,) = contacts.events("company_updated")
    assert (event["org_id"], event["actor_id"]) == ("org-pomme", "user-bob")
    assert event["record"] == updated


def test_creating_a_company_emits_company_created_with_the_record(contacts):
    siege = contacts.as_user(BOB).create_company(SIEGE)

    (event,) = contacts.events("company_created")
    assert event["record"] == {key: value for key, value in siege.items() if key != "created"}


# -- reading ----------------------------------------------------------------------


def test_company_lists_its_current_employees_only(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    long_ago = (today() - timedelta(days=400)).isoformat()
    last_month = (today() - timedelta(days=30)).isoformat()
    jeanne = bob.create_contact({**JEANNE, "employments": [{"company_id": siege["id"], "function": "DAF"}]})
    bob.create_contact(
        {
            **FRANCOIS,
            "employments": [{"company_id": siege["id"], "start_date": long_ago, "end_date": last_month}],
        }
    )

    company = bob.get_company(siege["id"])

    assert company["contacts"] == [
        {
            "contact_id": jeanne["id"],
            "first_name": "Jeanne",
            "last_name": "Dupont",
            "function": "DAF",
            "employment_id": jeanne["employments"][0]["id"],
        }
    ]


def test_another_organisations_company_is_not_found(contacts):
    siege = contacts.as_user(BOB).create_company(SIEGE)
    diane = contacts.as_user(DIANE)

    with pytest.raises(CompanyNotFound):
        diane.get_company(siege["id"])
    with pytest.raises(NotFound):
        diane.update_company(siege["id"], {"name": "Poire"})
    with pytest.raises(NotFound):
        diane.delete_company(siege["id"])
    assert contacts.as_user(BOB).get_company(siege["id"])["name"] == "Pomme Siège Central"


# -- a company and its contacts in one call ----------------------------------------


def test_company_and_its_contacts_are_created_in_one_call(contacts):
    bob = contacts.as_user(BOB)

    result = bob.create_company_with_contacts(
        {
            "company": CABINET,
            "contacts": [
                {**JEANNE, "employment": {"function": "Associée", "email": "j.dupont@cabinet-dupuis.fr"}},
                {**FRANCOIS, "employment": {"function": "Comptable", "start_date": "2023-02-01"}},
            ],
        }
    )

    company = result["company"]
    assert (company["name"], company["created"]) == ("Cabinet Dupuis", True)
    assert [c["created"] for c in result["contacts"]] == [True, True]
    staff = bob.get_company(company["id"])["contacts"]
    assert [(e["last_name"], e["function"]) for e in staff] == [
        ("Dupont", "Associée"),
        ("Lefèvre", "Comptable"),
    ]
    jeanne = result["contacts"][0]
    assert jeanne["employments"][0]["email"] == "j.dupont@cabinet-dupuis.fr"
    assert [e["event_type"] for e in contacts.events()] == [
        "company_created",
        "contact_created",
        "contact_created",
    ]


def test_contact_without_employment_details_is_still_employed_at_the_new_company(contacts):
    result = contacts.as_user(BOB).create_company_with_contacts({"company": CABINET, "contacts": [FRANCOIS]})

    (employment,) = result["contacts"][0]["employments"]
    assert (employment["company_id"], employment["function"]) == (result["company"]["id"], None)


def test_one_bad_contact_rejects_the_whole_call_naming_it(contacts):
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_company_with_contacts(
            {"company": CABINET, "contacts": [JEANNE, {**FRANCOIS, "email": "francois@"}]}
        )

    assert _fields(raised.value) == ["contacts.1.email"]
    assert contacts.footprint() == before


def test_bad_professional_phone_of_a_later_contact_rejects_the_whole_call(contacts):
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_company_with_contacts(
            {"company": CABINET, "contacts": [JEANNE, {**FRANCOIS, "employment": {"phone": "12"}}]}
        )

    assert _fields(raised.value) == ["contacts.1.employment.phone"]
    assert contacts.footprint() == before


def test_two_new_contacts_with_one_email_are_refused_naming_the_second(contacts):
    before = contacts.footprint()

    with pytest.raises(Conflict) as raised:
        contacts.as_user(BOB).create_company_with_contacts(
            {"company": CABINET, "contacts": [JEANNE, {**FRANCOIS, "email": "JEANNE.dupont@exemple.fr"}]}
        )

    assert _fields(raised.value) == ["contacts.1.email"]
    assert contacts.footprint() == before


def test_company_with_contacts_replayed_with_the_same_ids_creates_nothing_more(contacts):
    bob = contacts.as_user(BOB)
    request = {
        "company": {**CABINET, "id": "cabinet-dupuis"},
        "contacts": [
            {**JEANNE, "id": "jeanne-dupont", "employment": {"id": "jeanne-au-cabinet", "function": "DAF"}}
        ],
    }
    bob.create_company_with_contacts(request)
    footprint = contacts.footprint()

    replay = bob.create_company_with_contacts(request)

    assert (replay["company"]["created"], replay["contacts"][0]["created"]) == (False, False)
    assert contacts.footprint() == footprint


def test_admin_of_another_organisation_sees_none_of_it(contacts):
    result = contacts.as_user(ALICE).create_company_with_contacts({"company": CABINET, "contacts": [JEANNE]})

    with pytest.raises(NotFound):
        contacts.as_user(DIANE).get_contact(result["contacts"][0]["id"])
    assert contacts.as_user(DIANE).search_companies()["items"] == []


def test_company_refs_name_the_callers_companies_and_leave_others_out(contacts):
    siege = contacts.as_user(ALICE).create_company(SIEGE)
    other_org = contacts.as_user(DIANE).create_company({**SIEGE, "name": "Cabinet Durand"})
    contacts.as_user(ALICE).delete_company(siege["id"])
    refs = contacts.as_user(BOB).company_refs([siege["id"], other_org["id"], "no-such-id"])
    assert refs == {
        siege["id"]: {"id": siege["id"], "name": SIEGE["name"], "group": SIEGE["group"], "deleted": True}
    }
    with pytest.raises(InvalidInput, match="company_ids"):
        contacts.as_user(BOB).company_refs(["x"] * 1001)
