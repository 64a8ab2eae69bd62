"""Interests: the organisation's list, and finding contacts and companies by them.

The recruiting agency of the issue: candidates who are "Libre" and "Comptable",
and companies whose employees are "A la recherche" and "Comptable".
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import AdminOnly, InvalidInput, ReadOnlyUser
from services.contacts.exceptions import DuplicateInterest, IdAlreadyUsed, InterestNotFound
from services.contacts.lookups import today
from tests.people import ALICE, BOB, CLAIRE, DIANE


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


# -- the organisation's list ----------------------------------------------------------


def test_interests_are_listed_by_name(contacts):
    bob = contacts.as_user(BOB)
    for name in ("Libre", "comptable", "A la recherche"):
        bob.create_interest({"name": name})

    assert [i["name"] for i in bob.list_interests()["items"]] == ["A la recherche", "comptable", "Libre"]


def test_interest_name_is_unique_whatever_its_case(contacts):
    bob = contacts.as_user(BOB)
    comptable = bob.create_interest({"name": "Comptable"})

    with pytest.raises(DuplicateInterest) as raised:
        bob.create_interest({"name": "COMPTABLE"})

    assert _fields(raised.value) == ["name"]
    assert raised.value.errors[0]["interest_id"] == comptable["id"]


def test_interest_create_with_the_same_id_and_name_is_idempotent(contacts):
    bob = contacts.as_user(BOB)
    first = bob.create_interest({"id": "interet-libre", "name": "Libre"})

    replay = bob.create_interest({"id": "interet-libre", "name": "Libre"})

    assert (first["created"], replay["created"], replay["id"]) == (True, False, "interet-libre")
    with pytest.raises(IdAlreadyUsed):
        bob.create_interest({"id": "interet-libre", "name": "Disponible"})


def test_interests_of_another_organisation_are_not_listed(contacts):
    contacts.as_user(BOB).create_interest({"name": "Comptable"})

    assert contacts.as_user(DIANE).list_interests() == {"items": []}
    assert contacts.as_user(DIANE).create_interest({"name": "Comptable"})["created"] is True


def test_empty_interest_name_is_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).create_interest({"name": "  "})

    assert _fields(raised.value) == ["name"]


def test_deleting_an_interest_takes_it_off_every_contact(contacts):
    alice = contacts.as_user(ALICE)
    libre = alice.create_interest({"name": "Libre"})
    comptable = alice.create_interest({"name": "Comptable"})
    jeanne = alice.create_contact({"last_name": "Dupont", "interests": [libre["id"], comptable["id"]]})

    assert alice.delete_interest(libre["id"]) is None

    assert alice.get_contact(jeanne["id"])["interests"] == [comptable["id"]]
    assert [i["name"] for i in alice.list_interests()["items"]] == ["Comptable"]
    (event,) = contacts.events("contact_updated")
    assert event["record"]["interests"] == [comptable["id"]]
    assert alice.create_interest({"name": "Libre"})["created"] is True


def test_only_an_admin_who_can_write_deletes_interests(contacts):
    libre = contacts.as_user(BOB).create_interest({"name": "Libre"})

    with pytest.raises(AdminOnly):
        contacts.as_user(BOB).delete_interest(libre["id"])
    with pytest.raises(ReadOnlyUser):
        contacts.as_user(CLAIRE).delete_interest(libre["id"])
    with pytest.raises(InterestNotFound):
        contacts.as_user(DIANE).delete_interest(libre["id"])


# -- the recruiting agency ------------------------------------------------------------


@pytest.fixture
def agency(contacts):
    """Candidates and the companies that employ some of them, with their interests."""
    bob = contacts.as_user(BOB)
    interest = {
        name: bob.create_interest({"name": name})["id"] for name in ("Libre", "Comptable", "A la recherche")
    }
    cabinet = bob.create_company({"name": "Cabinet Dupuis", "group": "Dupuis"})
    magasin = bob.create_company({"name": "Pomme Magasin", "group": "Pomme"})
    siege = bob.create_company({"name": "Pomme Siège Central", "group": "Pomme"})
    long_ago = (today() - timedelta(days=900)).isoformat()
    last_year = (today() - timedelta(days=365)).isoformat()

    def candidate(first: str, last: str, interests: list[str], employments: list[dict] = ()) -> str:
        return bob.create_contact(
            {
                "first_name": first,
                "last_name": last,
                "interests": [interest[name] for name in interests],
                "employments": list(employments),
            }
        )["id"]

    people = {
        "lefevre": candidate("François", "Lefèvre", ["Libre", "Comptable"]),
        "martin": candidate("Léa", "Martin", ["Libre"]),
        "bernard": candidate(
            "Hugo", "Bernard", ["Comptable"], [{"company_id": magasin["id"], "function": "Caissier"}]
        ),
        "petit": candidate(
            "Inès",
            "Petit",
            ["A la recherche", "Comptable"],
            [{"company_id": cabinet["id"], "function": "Comptable"}],
        ),
        "roux": candidate(
            "Marc",
            "Roux",
            ["A la recherche", "Comptable", "Libre"],
            [{"company_id": siege["id"], "start_date": long_ago, "end_date": last_year}],
        ),
        "moreau": candidate("Chloé", "Moreau", ["A la recherche"], [{"company_id": magasin["id"]}]),
    }
    return bob, interest, people, {"cabinet": cabinet, "magasin": magasin, "siege": siege}


def test_candidates_with_libre_and_comptable_are_found_with_their_current_companies(agency):
    bob, interest, people, companies = agency

    found = bob.find_contacts_by_interests([interest["Libre"], interest["Comptable"]])

    assert [c["last_name"] for c in found["items"]] == ["Lefèvre", "Roux"]
    assert [c["current_companies"] for c in found["items"]] == [[], []]
    assert found["next_cursor"] is None


def test_candidates_with_any_of_the_interests_come_with_their_current_companies(agency):
    bob, interest, people, companies = agency

    found = bob.find_contacts_by_interests([interest["Comptable"], interest["A la recherche"]], match="any")

    assert [c["last_name"] for c in found["items"]] == ["Bernard", "Lefèvre", "Moreau", "Petit", "Roux"]
    petit = found["items"][3]
    assert petit["current_companies"] == [
        {
            "id": companies["cabinet"]["id"],
            "name": "Cabinet Dupuis",
            "group": "Dupuis",
            "function": "Comptable",
            "employment_id": petit["current_companies"][0]["employment_id"],
        }
    ]


def test_companies_whose_current_employees_are_looking_and_accountants_are_found(agency):
    bob, interest, people, companies = agency

    found = bob.find_companies_by_interests([interest["A la recherche"], interest["Comptable"]])

    # Roux matches too, but left Pomme Siège Central last year.
    assert [c["name"] for c in found["items"]] == ["Cabinet Dupuis"]
    assert [m["last_name"] for m in found["items"][0]["matching_contacts"]] == ["Petit"]


def test_companies_with_any_matching_employee_list_only_those_employees(agency):
    bob, interest, people, companies = agency

    found = bob.find_companies_by_interests([interest["A la recherche"]], match="any")

    assert [c["name"] for c in found["items"]] == ["Cabinet Dupuis", "Pomme Magasin"]
    assert [m["last_name"] for m in found["items"][1]["matching_contacts"]] == ["Moreau"]


def test_interest_results_come_a_page_at_a_time(agency):
    bob, interest, people, companies = agency
    ids = [interest["Comptable"]]

    first = bob.find_contacts_by_interests(ids, limit=3)
    second = bob.find_contacts_by_interests(ids, limit=3, cursor=first["next_cursor"])

    assert [c["last_name"] for c in first["items"]] == ["Bernard", "Lefèvre", "Petit"]
    assert ([c["last_name"] for c in second["items"]], second["next_cursor"]) == (["Roux"], None)


def test_deleted_contacts_are_not_found_by_interest(agency):
    bob, interest, people, companies = agency
    bob.delete_contact(people["lefevre"])

    found = bob.find_contacts_by_interests([interest["Libre"], interest["Comptable"]])

    assert [c["last_name"] for c in found["items"]] == ["Roux"]


def test_unknown_or_foreign_interest_is_refused_naming_its_position(agency, contacts):
    bob, interest, people, companies = agency
    poire = contacts.as_user(DIANE).create_interest({"name": "Comptable"})

    with pytest.raises(InvalidInput) as raised:
        bob.find_contacts_by_interests([interest["Libre"], poire["id"]])

    assert _fields(raised.value) == ["interest_ids.1"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"interest_ids": []}, "interest_ids"),
        ({"match": "some"}, "match"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "pas-un-curseur"}, "cursor"),
    ],
)
def test_bad_interest_query_is_refused_naming_the_argument(agency, arguments, field):
    bob, interest, people, companies = agency
    query = {"interest_ids": [interest["Libre"]], **arguments}

    with pytest.raises(InvalidInput) as raised:
        bob.find_companies_by_interests(**query)

    assert _fields(raised.value) == [field]


def test_a_long_name_that_grows_when_case_is_ignored_is_kept(contacts):
    bob = contacts.as_user(BOB)
    name = "Straße" * 16  # 96 characters; 112 once folded (ß is ss)
    created = bob.create_interest({"name": name})
    assert created["name"] == name
    with pytest.raises(DuplicateInterest):
        bob.create_interest({"name": name.replace("Stra", "STRA")})
