"""Employments: a contact at a company of the same organisation, with dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import InvalidInput
from services.contacts.exceptions import (
    ContactNotFound,
    EmploymentNotFound,
    IdAlreadyUsed,
    StaleVersion,
)
from services.contacts.lookups import today
from tests.people import BOB, DIANE, JEANNE, MAGASIN, SIEGE


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


@pytest.fixture
def jeanne_at_pomme(contacts):
    """Jeanne, and the Pomme head office she may work at."""
    bob = contacts.as_user(BOB)
    return bob.create_contact(JEANNE), bob.create_company(SIEGE)


def test_employment_is_added_with_professional_phones_and_email(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme

    employment = contacts.as_user(BOB).add_employment(
        jeanne["id"],
        {
            "company_id": siege["id"],
            "function": "Directrice financière",
            "phone": "01 42 68 53 10",
            "mobile": "06 11 22 33 44",
            "email": "J.Dupont@Pomme.fr",
            "start_date": "2021-04-01",
        },
    )

    assert employment["created"] is True
    assert (employment["contact_id"], employment["company_id"]) == (jeanne["id"], siege["id"])
    assert (employment["phone_e164"], employment["mobile_e164"]) == ("+33142685310", "+33611223344")
    assert employment["email"] == "j.dupont@pomme.fr"
    assert (employment["start_date"], employment["end_date"], employment["current"]) == (
        "2021-04-01",
        None,
        True,
    )


def test_adding_an_employment_announces_the_contact_with_it(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme

    employment = contacts.as_user(BOB).add_employment(jeanne["id"], {"company_id": siege["id"]})

    (event,) = contacts.events("contact_updated")
    assert event["record"]["version"] == 2
    assert [e["id"] for e in event["record"]["employments"]] == [employment["id"]]


def test_end_before_start_is_refused_naming_end_date(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).add_employment(
            jeanne["id"], {"company_id": siege["id"], "start_date": "2021-04-01", "end_date": "2021-03-31"}
        )

    assert _fields(raised.value) == ["end_date"]
    assert contacts.footprint() == before


def test_dates_must_be_iso_dates(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).add_employment(
            jeanne["id"], {"company_id": siege["id"], "start_date": "01/04/2021"}
        )

    assert _fields(raised.value) == ["start_date"]


def test_employment_ending_today_is_still_current_and_one_ended_yesterday_is_not(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    yesterday = (today() - timedelta(days=1)).isoformat()

    ending = bob.add_employment(jeanne["id"], {"company_id": siege["id"], "end_date": today().isoformat()})
    ended = bob.add_employment(jeanne["id"], {"company_id": siege["id"], "end_date": yesterday})

    assert (ending["current"], ended["current"]) == (True, False)


def test_contact_cannot_be_employed_at_another_organisations_company(contacts, jeanne_at_pomme):
    jeanne, _ = jeanne_at_pomme
    poire = contacts.as_user(DIANE).create_company({"name": "Poire Distribution"})
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).add_employment(jeanne["id"], {"company_id": poire["id"]})

    assert _fields(raised.value) == ["company_id"]
    assert contacts.footprint() == before


def test_contact_cannot_be_employed_at_a_deleted_company(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    bob.delete_company(siege["id"])

    with pytest.raises(InvalidInput, match="company_id"):
        bob.add_employment(jeanne["id"], {"company_id": siege["id"]})


def test_another_organisation_cannot_employ_our_contact(contacts, jeanne_at_pomme):
    jeanne, _ = jeanne_at_pomme
    diane = contacts.as_user(DIANE)
    poire = diane.create_company({"name": "Poire Distribution"})

    with pytest.raises(ContactNotFound):
        diane.add_employment(jeanne["id"], {"company_id": poire["id"]})


def test_add_employment_with_the_same_id_and_content_is_idempotent(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    request = {"id": "jeanne-au-siege", "company_id": siege["id"], "function": "DAF"}
    bob.add_employment(jeanne["id"], request)
    footprint = contacts.footprint()

    replay = bob.add_employment(jeanne["id"], request)

    assert (replay["id"], replay["created"]) == ("jeanne-au-siege", False)
    assert contacts.footprint() == footprint
    with pytest.raises(IdAlreadyUsed):
        bob.add_employment(jeanne["id"], {**request, "function": "PDG"})


def test_update_changes_function_and_dates(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    employment = bob.add_employment(jeanne["id"], {"company_id": siege["id"], "start_date": "2021-04-01"})

    updated = bob.update_employment(employment["id"], {"function": "DAF", "end_date": "2024-12-31"})

    assert (updated["function"], updated["end_date"], updated["version"]) == ("DAF", "2024-12-31", 2)
    assert updated["current"] is False
    assert bob.get_contact(jeanne["id"])["employments"][0]["function"] == "DAF"
    assert contacts.events("contact_updated")[-1]["record"]["employments"][0]["end_date"] == "2024-12-31"


def test_update_checks_the_new_end_against_the_stored_start(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    employment = bob.add_employment(jeanne["id"], {"company_id": siege["id"], "start_date": "2021-04-01"})

    with pytest.raises(InvalidInput) as raised:
        bob.update_employment(employment["id"], {"end_date": "2020-01-01"})

    assert _fields(raised.value) == ["end_date"]
    assert bob.get_contact(jeanne["id"])["employments"][0]["end_date"] is None


def test_update_with_a_stale_version_is_a_conflict(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    employment = bob.add_employment(jeanne["id"], {"company_id": siege["id"]})
    bob.update_employment(employment["id"], {"function": "DAF", "version": 1})

    with pytest.raises(StaleVersion):
        bob.update_employment(employment["id"], {"function": "PDG", "version": 1})


def test_bad_professional_mobile_is_refused_naming_it(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    employment = bob.add_employment(jeanne["id"], {"company_id": siege["id"]})

    with pytest.raises(InvalidInput) as raised:
        bob.update_employment(employment["id"], {"mobile": "06 11"})

    assert _fields(raised.value) == ["mobile"]


def test_deleted_employment_leaves_the_history_and_is_announced(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    bob = contacts.as_user(BOB)
    magasin = bob.create_company(MAGASIN)
    mistaken = bob.add_employment(jeanne["id"], {"company_id": siege["id"]})
    kept = bob.add_employment(jeanne["id"], {"company_id": magasin["id"]})

    assert bob.delete_employment(mistaken["id"]) is None

    assert [e["id"] for e in bob.get_contact(jeanne["id"])["employments"]] == [kept["id"]]
    assert [e["id"] for e in contacts.events("contact_updated")[-1]["record"]["employments"]] == [kept["id"]]
    with pytest.raises(EmploymentNotFound):
        bob.update_employment(mistaken["id"], {"function": "DAF"})


def test_another_organisations_employment_is_not_found(contacts, jeanne_at_pomme):
    jeanne, siege = jeanne_at_pomme
    employment = contacts.as_user(BOB).add_employment(jeanne["id"], {"company_id": siege["id"]})
    diane = contacts.as_user(DIANE)

    with pytest.raises(EmploymentNotFound):
        diane.update_employment(employment["id"], {"function": "Espionne"})
    with pytest.raises(EmploymentNotFound):
        diane.delete_employment(employment["id"])
