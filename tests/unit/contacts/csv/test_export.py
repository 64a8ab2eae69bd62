"""Exporting a contact search as CSV, and reading the export back."""

from __future__ import annotations

import csv
import io

import pytest

from services.contacts.csv import export as csv_export
from tests.people import BOB, CLAIRE, DIANE, FRANCOIS, JEANNE, MAGASIN
from tests.unit.contacts.csv.imports import imported


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def _export(worker, **query) -> str:
    """Every slice of the export, as the gateway puts them together."""
    slices, cursor = [], None
    while True:
        page = worker.export_contacts_csv(cursor=cursor, **query)
        slices.append(page["csv"])
        cursor = page["next_cursor"]
        if cursor is None:
            return "".join(slices)


@pytest.fixture
def jeanne_at_the_shop(contacts) -> dict:
    bob = contacts.as_user(BOB)
    magasin = bob.create_company(MAGASIN)
    libre = bob.create_interest({"name": "Libre"})
    comptable = bob.create_interest({"name": "Comptable"})
    employment = {"company_id": magasin["id"], "function": "Gérante", "email": "j.dupont@pomme.fr"}
    return bob.create_contact(
        {**JEANNE, "interests": [libre["id"], comptable["id"]], "employments": [employment]}
    )


def test_the_export_has_french_headers_and_a_row_per_contact(contacts, jeanne_at_the_shop):
    rows = _table(_export(contacts.as_user(BOB)))

    header, jeanne = rows
    assert header[:3] == ["Prénom", "Nom", "Email"]
    row = dict(zip(header, jeanne, strict=True))
    assert (row["Prénom"], row["Nom"], row["Email"]) == ("Jeanne", "Dupont", "jeanne.dupont@exemple.fr")
    assert (row["Portable"], row["Ville"], row["Code postal"]) == ("+33 6 12 34 56 78", "Lyon", "69001")
    assert (row["Société"], row["Groupe"], row["Fonction"]) == ("Pomme Magasin", "Pomme", "Gérante")
    assert row["Email professionnel"] == "j.dupont@pomme.fr"
    assert row["Centres d'intérêt"] == "Comptable, Libre"
    assert row["Identifiant"] == jeanne_at_the_shop["id"]


def test_the_export_can_have_english_headers(contacts, jeanne_at_the_shop):
    header = _table(_export(contacts.as_user(BOB), language="en"))[0]

    assert header[:3] == ["First name", "Last name", "Email"]
    assert "Job title" in header


def test_the_export_lists_what_the_search_finds_in_its_order(contacts):
    bob = contacts.as_user(BOB)
    for name in ("Arnaud", "Bernard", "Chevalier"):
        bob.create_contact({"last_name": name, "note": "client"})
    bob.create_contact({"last_name": "Dubois"})

    rows = _table(_export(bob, q="", sort="last_name", direction="desc"))
    found = _table(_export(bob, q="ber"))

    assert [row[1] for row in rows[1:]] == ["Dubois", "Chevalier", "Bernard", "Arnaud"]
    assert [row[1] for row in found[1:]] == ["Bernard"]


def test_a_long_export_comes_in_slices_with_one_header(contacts, monkeypatch):
    monkeypatch.setattr(csv_export, "PAGE_SIZE", 2)
    bob = contacts.as_user(BOB)
    for name in ("Arnaud", "Bernard", "Chevalier", "Dubois", "Etienne"):
        bob.create_contact({"last_name": name})

    first = bob.export_contacts_csv()
    rows = _table(_export(bob))

    assert len(_table(first["csv"])) == 3 and first["next_cursor"]
    assert [row[1] for row in rows] == ["Nom", "Arnaud", "Bernard", "Chevalier", "Dubois", "Etienne"]


def test_a_read_only_user_exports_and_another_organisation_sees_none_of_it(contacts, jeanne_at_the_shop):
    assert len(_table(_export(contacts.as_user(CLAIRE)))) == 2
    assert len(_table(_export(contacts.as_user(DIANE)))) == 1


def test_a_cell_that_looks_like_a_formula_is_exported_as_text(contacts):
    contacts.as_user(BOB).create_contact({"last_name": "Piège", "note": '=HYPERLINK("http://x")'})

    row = _table(_export(contacts.as_user(BOB)))[1]

    assert row[csv_export.header("fr").index("Note")] == '\'=HYPERLINK("http://x")'


def test_an_exported_file_imports_back_without_a_change(contacts, jeanne_at_the_shop):
    bob = contacts.as_user(BOB)
    bob.create_contact(FRANCOIS)
    bob.create_contact({**FRANCOIS, "email": "fanfan@exemple.fr", "note": "=1+1 à vérifier"})
    exported = "\ufeff" + _export(bob)

    job = imported(contacts, BOB, exported.encode("utf-8"))

    assert (job["encoding"], job["delimiter"]) == ("utf-8-sig", ";")
    assert (job["rows_unchanged"], job["rows_created"], job["rows_updated"], job["rows_failed"]) == (
        3,
        0,
        0,
        0,
    )
    ignored = [column["column"] for column in job["columns"] if column["field"] is None]
    assert ignored == ["Identifiant", "Créé le", "Modifié le"]


# -- Google's and Outlook's layouts ----------------------------------------------------


def test_the_export_takes_another_delimiter(contacts, jeanne_at_the_shop):
    text = _export(contacts.as_user(BOB), delimiter=",")

    assert text.splitlines()[0].startswith("Prénom,Nom,Email,")


def test_the_outlook_layout_has_outlook_headers_commas_and_categories(contacts, jeanne_at_the_shop):
    text = _export(contacts.as_user(BOB), layout="outlook")

    header, jeanne = list(csv.reader(io.StringIO(text, newline="")))
    row = dict(zip(header, jeanne, strict=True))
    assert (row["Title"], row["First Name"], row["Job Title"]) == ("", "Jeanne", "Gérante")
    assert (row["Company"], row["Home City"], row["Categories"]) == (
        "Pomme Magasin",
        "Lyon",
        "Comptable;Libre",
    )
    assert row["E-mail 2 Address"] == "j.dupont@pomme.fr"


def test_the_google_layout_labels_each_value_and_lists_interests_as_labels(contacts, jeanne_at_the_shop):
    text = _export(contacts.as_user(BOB), layout="google")

    header, jeanne = list(csv.reader(io.StringIO(text, newline="")))
    row = dict(zip(header, jeanne, strict=True))
    assert row["Labels"] == "* myContacts ::: Comptable ::: Libre"
    assert (row["E-mail 1 - Label"], row["E-mail 1 - Value"]) == ("* Home", "jeanne.dupont@exemple.fr")
    assert (row["Phone 1 - Label"], row["Phone 1 - Value"]) == ("Home", "01 45 67 89 10")
    assert (row["Phone 3 - Label"], row["Phone 3 - Value"]) == ("", "")
    assert (row["Organization Name"], row["Address 1 - Postal Code"]) == ("Pomme Magasin", "69001")


@pytest.mark.parametrize(("layout", "preset"), [("google", "google"), ("outlook", "outlook")])
def test_a_google_or_outlook_export_imports_back_by_its_preset_unchanged(
    contacts, jeanne_at_the_shop, layout, preset
):
    text = _export(contacts.as_user(BOB), layout=layout)

    job = imported(contacts, BOB, text)

    assert (job["preset"], job["rows_unchanged"], job["rows_created"], job["rows_failed"]) == (
        preset,
        1,
        0,
        0,
    )
