"""Searching contacts and companies: one query, normalised phones, groups, sort and pages."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from tests.people import BOB, CABINET, DIANE, ENTREPOTS, FRANCOIS, JEANNE, MAGASIN, SIEGE


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


def _names(page: dict) -> list[str]:
    return sorted(item.get("last_name") or item.get("name") for item in page["items"])


@pytest.fixture
def pomme(contacts):
    """The three Pomme sites, a firm outside the group, and people working there."""
    bob = contacts.as_user(BOB)
    sites = {
        company["name"]: company for company in map(bob.create_company, (SIEGE, MAGASIN, ENTREPOTS, CABINET))
    }
    jeanne = bob.create_contact(
        {
            **JEANNE,
            "employments": [{"company_id": sites["Pomme Entrepôts"]["id"], "function": "Logisticienne"}],
        }
    )
    francois = bob.create_contact(
        {
            **FRANCOIS,
            "employments": [{"company_id": sites["Cabinet Dupuis"]["id"], "phone": "02 40 12 34 56"}],
        }
    )
    return bob, sites, jeanne, francois


# -- what a query matches --------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["+33 6 12 34 56 78", "06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33612345678"]
)
def test_mobile_is_found_however_it_is_written(pomme, query):
    bob, _, jeanne, _ = pomme

    assert [c["id"] for c in bob.search_contacts(q=query)["items"]] == [jeanne["id"]]


def test_part_of_a_number_finds_the_contact(pomme):
    bob, _, jeanne, _ = pomme

    assert [c["id"] for c in bob.search_contacts(q="06 12 34")["items"]] == [jeanne["id"]]


def test_professional_phone_finds_the_contact(pomme):
    bob, _, _, francois = pomme

    assert [c["id"] for c in bob.search_contacts(q="+33 2 40 12 34 56")["items"]] == [francois["id"]]


def test_group_finds_every_site_of_the_business(pomme):
    bob, _, _, _ = pomme

    found = bob.search_companies(q="Pomme")

    assert _names(found) == ["Pomme Entrepôts", "Pomme Magasin", "Pomme Siège Central"]


def test_group_finds_the_contacts_employed_at_its_sites(pomme):
    bob, _, jeanne, _ = pomme

    found = bob.search_contacts(q="pomme")

    assert [c["id"] for c in found["items"]] == [jeanne["id"]]
    assert found["items"][0]["current_companies"][0]["name"] == "Pomme Entrepôts"


def test_search_ignores_case_and_accents(pomme):
    bob, _, _, francois = pomme

    assert _names(bob.search_companies(q="SIEGE")) == ["Pomme Siège Central"]
    assert _names(bob.search_companies(q="entrepots")) == ["Pomme Entrepôts"]
    assert [c["id"] for c in bob.search_contacts(q="francois lefevre")["items"]] == [francois["id"]]


def test_every_word_of_the_query_must_match(pomme):
    bob, _, jeanne, _ = pomme

    assert [c["id"] for c in bob.search_contacts(q="Jeanne Pomme")["items"]] == [jeanne["id"]]
    assert bob.search_contacts(q="Jeanne Dupuis")["items"] == []


def test_email_finds_the_contact_and_the_company(pomme):
    bob, _, jeanne, _ = pomme

    assert [c["id"] for c in bob.search_contacts(q="jeanne.dupont@exemple.fr")["items"]] == [jeanne["id"]]
    assert _names(bob.search_companies(q="accueil@pomme.fr")) == ["Pomme Siège Central"]


def test_company_phone_finds_the_company(pomme):
    bob, _, _, _ = pomme

    assert _names(bob.search_companies(q="+33 1 42 68 53 00")) == ["Pomme Siège Central"]


def test_like_wildcards_in_a_query_are_taken_literally(pomme):
    bob, _, _, _ = pomme

    assert bob.search_contacts(q="%")["items"] == []
    assert bob.search_companies(q="_")["items"] == []


def test_renamed_company_is_found_by_its_new_name_with_its_contacts(pomme):
    bob, sites, jeanne, _ = pomme

    bob.update_company(sites["Pomme Entrepôts"]["id"], {"name": "Pomme Logistique", "group": "Pomme Groupe"})

    assert [c["id"] for c in bob.search_contacts(q="logistique")["items"]] == [jeanne["id"]]
    assert bob.search_contacts(q="entrepots")["items"] == []
    assert _names(bob.search_companies(q="pomme groupe")) == ["Pomme Logistique"]


def test_contact_is_found_by_a_company_only_while_employed_there(pomme):
    bob, sites, jeanne, _ = pomme
    history = bob.get_contact(jeanne["id"])["employments"]

    bob.update_employment(history[0]["id"], {"start_date": "2019-01-01", "end_date": "2020-12-31"})

    assert bob.search_contacts(q="entrepots")["items"] == []
    assert bob.add_employment(jeanne["id"], {"company_id": sites["Pomme Magasin"]["id"]})
    assert [c["id"] for c in bob.search_contacts(q="magasin")["items"]] == [jeanne["id"]]


def test_no_query_lists_everything_and_another_organisation_sees_nothing(pomme, contacts):
    bob, _, _, _ = pomme

    assert len(bob.search_contacts()["items"]) == 2
    assert len(bob.search_companies(q="")["items"]) == 4
    assert contacts.as_user(DIANE).search_contacts(q="Dupont")["items"] == []
    assert contacts.as_user(DIANE).search_companies(q="Pomme")["items"] == []


# -- sort and pages -----------------------------------------------------------------------

LAST_NAMES = [
    "Roux",
    "Bernard",
    None,
    "Martin",
    "Dupont",
    "Petit",
    "Dupont",
    "Moreau",
    "Bernard",
    "Leroy",
    "Fabre",
]


@pytest.fixture
def directory(contacts):
    """Eleven contacts, some sharing a last name, one without, some without e-mail; then a few changed."""
    bob = contacts.as_user(BOB)
    ids = []
    for index, last_name in enumerate(LAST_NAMES):
        contact = {"first_name": f"Prénom{index % 4}", "last_name": last_name}
        if index % 3:
            contact["email"] = f"contact{index}@exemple.fr"
        ids.append(bob.create_contact(contact)["id"])
    for contact_id in (ids[4], ids[0]):
        bob.update_contact(contact_id, {"note": "Rappelé."})
    return bob, ids


def _walk(search, limit: int, **arguments) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        page = search(limit=limit, cursor=cursor, **arguments)
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        assert len(page["items"]) <= limit
        if cursor is None:
            return items
        assert pages < 50


@pytest.mark.parametrize("sort", ["last_name", "first_name", "email", "created_at", "updated_at"])
def test_contact_pages_serve_every_row_once_in_both_directions(directory, sort):
    bob, ids = directory

    ascending = [c["id"] for c in _walk(bob.search_contacts, 4, sort=sort, direction="asc")]
    descending = [c["id"] for c in _walk(bob.search_contacts, 3, sort=sort, direction="desc")]

    assert sorted(ascending) == sorted(ids)
    assert descending == list(reversed(ascending))


def test_contacts_sort_by_last_name_without_a_name_first(directory):
    bob, _ = directory

    names = [c["last_name"] for c in _walk(bob.search_contacts, 4, sort="last_name")]

    assert names == [None] + sorted(name for name in LAST_NAMES if name)


def test_contacts_sort_by_creation_and_by_last_change(directory):
    bob, ids = directory

    created = [c["id"] for c in _walk(bob.search_contacts, 5, sort="created_at")]
    changed = [c["id"] for c in _walk(bob.search_contacts, 5, sort="updated_at", direction="desc")]

    assert created == ids
    assert changed[:2] == [ids[0], ids[4]]


@pytest.mark.parametrize("sort", ["name", "group", "city", "created_at", "updated_at"])
def test_company_pages_serve_every_row_once_in_both_directions(contacts, sort):
    bob = contacts.as_user(BOB)
    ids = [
        bob.create_company({"name": name, "group": group, "address": {"city": city} if city else None})["id"]
        for name, group, city in [
            ("Pomme Siège Central", "Pomme", "Paris"),
            ("Pomme Magasin", "Pomme", "Lyon"),
            ("Pomme Entrepôts", "Pomme", "Rungis"),
            ("Cabinet Dupuis", None, "Nantes"),
            ("Boulangerie Martin", None, None),
            ("Garage Petit", "Petit", "Lyon"),
            ("Librairie Roux", None, "Paris"),
        ]
    ]

    ascending = [c["id"] for c in _walk(bob.search_companies, 2, sort=sort)]
    descending = [c["id"] for c in _walk(bob.search_companies, 3, sort=sort, direction="desc")]

    assert sorted(ascending) == sorted(ids)
    assert descending == list(reversed(ascending))


def test_companies_sort_by_city(contacts):
    bob = contacts.as_user(BOB)
    for name, city in [
        ("Pomme Siège Central", "Paris"),
        ("Pomme Magasin", "Lyon"),
        ("Cabinet Dupuis", "Nantes"),
    ]:
        bob.create_company({"name": name, "address": {"city": city}})

    found = bob.search_companies(sort="city", direction="desc")

    assert [c["address"]["city"] for c in found["items"]] == ["Paris", "Nantes", "Lyon"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"sort": "phone"}, "sort"),
        ({"sort": "name"}, "sort"),
        ({"direction": "up"}, "direction"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "20"}, "limit"),
        ({"cursor": "bm9uIG1lcmNp"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_contact_search_is_refused_naming_the_argument(contacts, arguments, field):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).search_contacts(**arguments)

    assert _fields(raised.value) == [field]


def test_cursor_of_another_sort_or_direction_is_refused(directory):
    bob, _ = directory
    cursor = bob.search_contacts(limit=2, sort="last_name")["next_cursor"]

    for arguments in ({"sort": "first_name"}, {"direction": "desc"}):
        with pytest.raises(InvalidInput) as raised:
            bob.search_contacts(limit=2, cursor=cursor, **arguments)
        assert _fields(raised.value) == ["cursor"]
    with pytest.raises(InvalidInput):
        bob.search_companies(limit=2, cursor=cursor, sort="name")


def test_bad_company_sort_is_refused_naming_it(contacts):
    with pytest.raises(InvalidInput) as raised:
        contacts.as_user(BOB).search_companies(sort="last_name")

    assert _fields(raised.value) == ["sort"]


# -- polling by updated_since --------------------------------------------------------------


def test_updated_since_keeps_only_the_contacts_and_companies_changed_since(pomme):
    bob, sites, jeanne, francois = pomme
    siege = sites["Pomme Siège Central"]
    bob.update_contact(jeanne["id"], {"version": jeanne["version"], "note": "Rappeler lundi"})
    bob.update_company(siege["id"], {"version": siege["version"], "notes": "Nouveau standard"})
    contact_changed = bob.get_contact(jeanne["id"])["updated_at"]
    company_changed = bob.get_company(siege["id"])["updated_at"]

    contacts_since = [c["id"] for c in bob.search_contacts(updated_since=contact_changed)["items"]]
    companies_since = [c["id"] for c in bob.search_companies(updated_since=company_changed)["items"]]

    assert jeanne["id"] in contacts_since and francois["id"] not in contacts_since
    assert siege["id"] in companies_since and sites["Cabinet Dupuis"]["id"] not in companies_since
    assert bob.search_contacts(updated_since="2999-01-01T00:00:00Z")["items"] == []
    assert bob.search_companies(updated_since="2999-01-01T00:00:00+01:00")["items"] == []


@pytest.mark.parametrize("since", ["0", "1733000000", "2026-12-01", "2026-12-01T09:00:00", "hier"])
def test_updated_since_without_an_offset_or_a_time_is_refused_naming_it(contacts, since):
    for search in (contacts.as_user(BOB).search_contacts, contacts.as_user(BOB).search_companies):
        with pytest.raises(InvalidInput) as raised:
            search(updated_since=since)
        assert _fields(raised.value) == ["updated_since"]
