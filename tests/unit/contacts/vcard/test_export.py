"""Contacts as vCards 3.0 and 4.0: one contact, or every page of a search."""

from __future__ import annotations

import pytest
import vobject

from crm.errors import InvalidInput
from services.contacts.exceptions import ContactNotFound
from services.contacts.vcard import export as vcard_export
from tests.people import BOB, CABINET, CLAIRE, DIANE, FRANCOIS, JEANNE, SIEGE


@pytest.fixture
def jeanne(contacts) -> dict:
    """Jeanne Dupont: buyer at Pomme Siège Central now, intern at Cabinet Dupuis before."""
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    cabinet = bob.create_company(CABINET)
    return bob.create_contact(
        {
            **JEANNE,
            "employments": [
                {
                    "company_id": cabinet["id"],
                    "function": "Stagiaire",
                    "phone": "02 40 12 34 56",
                    "start_date": "2019-09-01",
                    "end_date": "2020-06-30",
                },
                {
                    "company_id": siege["id"],
                    "function": "Directrice des achats, Europe",
                    "phone": "01 42 68 53 01",
                    "mobile": "06 98 76 54 32",
                    "email": "j.dupont@pomme.fr",
                    "start_date": "2021-01-04",
                },
            ],
        }
    )


def _read(text: str):
    return vobject.readOne(text)


def _lines(content: str, name: str) -> list[tuple[str | None, tuple[str, ...], object]]:
    """(group, TYPE values, value) of each ``name`` property, in the card's order."""
    return [
        (line.group, tuple(line.params.get("TYPE", [])), line.value) for line in _read(content).contents[name]
    ]


def test_a_contact_is_written_with_typed_personal_and_work_phones_and_emails(contacts, jeanne):
    content = contacts.as_user(BOB).export_vcard(jeanne["id"])["content"]

    card = _read(content)
    assert card.version.value == "3.0"
    assert card.uid.value == jeanne["id"]
    assert (card.n.value.family, card.n.value.given, card.fn.value) == ("Dupont", "Jeanne", "Jeanne Dupont")
    assert set(_lines(content, "tel")) == {
        (None, ("home", "voice"), "+33 1 45 67 89 10"),
        (None, ("cell",), "+33 6 12 34 56 78"),
        ("job1", ("work", "voice"), "+33 1 42 68 53 01"),
        ("job1", ("work", "cell"), "+33 6 98 76 54 32"),
    }
    assert set(_lines(content, "email")) == {
        (None, ("internet", "home"), "jeanne.dupont@exemple.fr"),
        ("job1", ("internet", "work"), "j.dupont@pomme.fr"),
    }
    assert card.note.value == "Préfère être appelée le matin."
    assert _lines(content, "x-socialprofile") == [
        (None, ("linkedin",), "https://www.linkedin.com/in/jeanne-dupont")
    ]


def test_employments_are_org_and_title_groups_current_first(contacts, jeanne):
    content = contacts.as_user(BOB).export_vcard(jeanne["id"])["content"]

    assert [(group, value) for group, _, value in _lines(content, "org")] == [
        ("job1", ["Pomme Siège Central"]),
        ("job2", ["Cabinet Dupuis"]),
    ]
    assert [(group, value) for group, _, value in _lines(content, "title")] == [
        ("job1", "Directrice des achats, Europe"),
        ("job2", "Stagiaire"),
    ]
    # A past employment is history: no phone of it is offered as a way to reach the contact.
    assert "job2" not in {group for group, _, _ in _lines(content, "tel")}


def test_addresses_are_typed_home_for_the_contact_and_work_for_the_current_company(contacts, jeanne):
    content = contacts.as_user(BOB).export_vcard(jeanne["id"])["content"]

    addresses = {(group, types): value for group, types, value in _lines(content, "adr")}
    assert set(addresses) == {(None, ("home",)), ("job1", ("work",))}
    home, work = addresses[(None, ("home",))], addresses[("job1", ("work",))]
    assert (home.street, home.code, home.city, home.country) == (
        "3 place du Marché",
        "69001",
        "Lyon",
        "France",
    )
    assert (work.street, work.city) == ("12 rue de la Paix", "Paris")


def test_version_4_writes_tel_uris_a_urn_uid_and_the_kind(contacts, jeanne):
    content = contacts.as_user(BOB).export_vcard(jeanne["id"], version="4.0")["content"]

    lines = content.split("\r\n")
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"]
    assert f"UID:urn:uuid:{jeanne['id']}" in lines
    assert "KIND:individual" in lines
    assert "TEL;TYPE=cell;VALUE=uri:tel:+33612345678" in lines
    assert "job1.TEL;TYPE=work,voice;VALUE=uri:tel:+33142685301" in lines
    assert "EMAIL;TYPE=home:jeanne.dupont@exemple.fr" in lines
    assert _read(content).n.value.given == "Jeanne"


def test_an_id_chosen_by_the_caller_is_the_uid_in_both_versions(contacts):
    bob = contacts.as_user(BOB)
    bob.create_contact({**FRANCOIS, "id": "client-42"})

    assert "UID:client-42" in bob.export_vcard("client-42")["content"].split("\r\n")
    assert "UID;VALUE=text:client-42" in bob.export_vcard("client-42", "4.0")["content"].split("\r\n")


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_text_is_escaped_as_its_version_says_folded_at_75_octets_and_keeps_its_accents(contacts, version):
    note = "Rendez-vous au 3e étage; badge requis, merci.\nDemander l'accueil \\ sécurité. " + "é" * 60
    bob = contacts.as_user(BOB)
    francois = bob.create_contact({**FRANCOIS, "note": note})

    exported = bob.export_vcard(francois["id"], version)

    content = exported["content"]
    assert all(len(line.encode()) <= 75 for line in content.split("\r\n"))
    unfolded = content.replace("\r\n ", "")
    # RFC 6350 text escapes no semicolon (only N, ADR and ORG's components do); RFC 2426 text does.
    semicolon = ";" if version == "4.0" else "\\;"
    assert (
        f"NOTE:Rendez-vous au 3e étage{semicolon} badge requis\\, merci.\\nDemander l'accueil \\\\ s"
        in unfolded
    )
    card = _read(content)
    assert (card.fn.value, card.note.value) == ("François Lefèvre", note)
    assert exported["file_name"] == "François Lefèvre.vcf"


def test_another_organisations_contact_or_a_deleted_one_is_not_found(contacts, jeanne):
    with pytest.raises(ContactNotFound):
        contacts.as_user(DIANE).export_vcard(jeanne["id"])
    contacts.as_user(BOB).delete_contact(jeanne["id"])
    with pytest.raises(ContactNotFound):
        contacts.as_user(BOB).export_vcard(jeanne["id"])


def test_an_unknown_version_is_refused_naming_it(contacts, jeanne):
    with pytest.raises(InvalidInput) as refused:
        contacts.as_user(BOB).export_vcard(jeanne["id"], version="2.1")

    assert [error["field"] for error in refused.value.errors] == ["version"]


def test_a_read_only_user_may_export(contacts, jeanne):
    claire = contacts.as_user(CLAIRE)

    assert claire.export_vcard(jeanne["id"])["count"] == 1
    assert claire.export_vcards()["count"] == 1


# -- lists ------------------------------------------------------------------------


def _every_page(worker, **query) -> list[dict]:
    pages, cursor = [], None
    while True:
        page = worker.export_vcards(**query, cursor=cursor)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_a_list_export_walks_every_page_in_the_search_order(contacts, monkeypatch):
    monkeypatch.setattr(vcard_export, "PAGE_SIZE", 2)
    bob = contacts.as_user(BOB)
    names = ["Bernard", "Arnaud", "Dubois", "Chevalier", "Etienne"]
    for name in names:
        bob.create_contact({"first_name": "Léa", "last_name": name})

    pages = _every_page(bob, sort="last_name", direction="desc", version="4.0")

    assert [page["count"] for page in pages] == [2, 2, 1]
    cards = list(vobject.readComponents("".join(page["content"] for page in pages)))
    assert [card.n.value.family for card in cards] == sorted(names, reverse=True)
    assert {page["file_name"] for page in pages} == {"contacts.vcf"}


def test_a_list_export_holds_what_the_search_finds(contacts, jeanne):
    bob = contacts.as_user(BOB)
    bob.create_contact(FRANCOIS)

    (page,) = _every_page(bob, q="pomme")

    assert [card.uid.value for card in vobject.readComponents(page["content"])] == [jeanne["id"]]


def test_a_search_that_finds_nothing_exports_no_cards(contacts, jeanne):
    assert contacts.as_user(BOB).export_vcards(q="Introuvable") == {
        "file_name": "contacts.vcf",
        "content": "",
        "count": 0,
        "next_cursor": None,
    }


def test_a_list_export_never_holds_another_organisations_contacts(contacts, jeanne):
    assert contacts.as_user(DIANE).export_vcards()["count"] == 0
