"""Deleting a company archives it: its employments stay (not current while it is archived), its
contacts stay, and searches leave it out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.contacts.exceptions import CompanyNotFound
from services.contacts.lookups import today
from tests.people import BOB, FRANCOIS, JEANNE, MAGASIN, SIEGE

# -- deleting ---------------------------------------------------------------------


def test_deleting_a_company_keeps_its_employments_no_longer_current_and_keeps_the_contacts(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    magasin = bob.create_company(MAGASIN)
    jeanne = bob.create_contact(
        {
            **JEANNE,
            "employments": [
                {"company_id": siege["id"], "function": "DAF", "start_date": "2019-09-01"},
                {"company_id": magasin["id"], "function": "Gérante"},
            ],
        }
    )

    assert bob.delete_company(siege["id"]) is None

    after = bob.get_contact(jeanne["id"])
    at_siege = next(e for e in after["employments"] if e["company_id"] == siege["id"])
    assert at_siege["end_date"] is None
    assert at_siege["company"]["deleted"] is True
    assert at_siege["current"] is False
    assert [c["name"] for c in bob.search_contacts(q="Dupont")["items"][0]["current_companies"]] == [
        "Pomme Magasin"
    ]
    with pytest.raises(CompanyNotFound):
        bob.get_company(siege["id"])


def test_deleting_a_company_keeps_employments_that_had_already_ended(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    jeanne = bob.create_contact(
        {
            **JEANNE,
            "employments": [
                {"company_id": siege["id"], "start_date": "2015-01-05", "end_date": "2018-06-30"}
            ],
        }
    )

    bob.delete_company(siege["id"])

    assert bob.get_contact(jeanne["id"])["employments"][0]["end_date"] == "2018-06-30"
    assert contacts.events("contact_updated") == []


def test_deleting_a_company_announces_it_and_each_contact_it_employed(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    jeanne = bob.create_contact({**JEANNE, "employments": [{"company_id": siege["id"]}]})
    francois = bob.create_contact({**FRANCOIS, "employments": [{"company_id": siege["id"]}]})

    bob.delete_company(siege["id"])

    (deleted,) = contacts.events("company_deleted")
    assert deleted["record"]["id"] == siege["id"]
    assert deleted["record"]["deleted_at"] is not None
    updated = {event["record"]["id"]: event["record"] for event in contacts.events("contact_updated")}
    assert set(updated) == {jeanne["id"], francois["id"]}
    assert updated[jeanne["id"]]["employments"][0]["current"] is False
    assert updated[jeanne["id"]]["version"] == 2


def test_employment_that_had_not_started_stays_when_its_company_is_deleted(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    next_month = (today() + timedelta(days=30)).isoformat()
    jeanne = bob.create_contact(
        {**JEANNE, "employments": [{"company_id": siege["id"], "start_date": next_month}]}
    )

    bob.delete_company(siege["id"])

    [employment] = bob.get_contact(jeanne["id"])["employments"]
    assert (employment["start_date"], employment["current"]) == (next_month, False)


def test_deleting_a_deleted_company_again_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    bob.delete_company(siege["id"])
    footprint = contacts.footprint()

    bob.delete_company(siege["id"])

    assert contacts.footprint() == footprint


def test_deleted_company_is_left_out_of_searches(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    bob.create_company(MAGASIN)

    bob.delete_company(siege["id"])

    assert [c["name"] for c in bob.search_companies(q="Pomme")["items"]] == ["Pomme Magasin"]
