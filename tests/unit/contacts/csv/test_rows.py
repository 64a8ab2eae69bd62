"""Rows as read from files and checked: encodings, delimiters, headers, bad rows alone."""

from __future__ import annotations

import csv
import io

import pytest

from tests.people import BOB
from tests.unit.contacts.csv.imports import (
    FRANCOIS_ROW,
    HEADER,
    by_last_name,
    csv_text,
    errors,
    imported,
)

# -- reading the file ----------------------------------------------------------------


def test_a_french_file_creates_contacts_with_company_employment_and_interests(contacts):
    job = imported(contacts, BOB, csv_text(HEADER, FRANCOIS_ROW))

    assert (job["status"], job["total_rows"], job["rows_done"]) == ("done", 1, 1)
    assert (job["rows_created"], job["rows_failed"], job["companies_created"], job["interests_created"]) == (
        1,
        0,
        1,
        2,
    )
    bob = contacts.as_user(BOB)
    francois = bob.get_contact(by_last_name(contacts, BOB)["Lefèvre"]["id"])
    assert (francois["first_name"], francois["email"]) == ("François", "francois.lefevre@exemple.fr")
    assert (francois["phone_e164"], francois["mobile_e164"]) == ("+33145678910", "+33612345678")
    assert francois["address"] == {
        "street": "3 place du Marché",
        "postal_code": "69001",
        "city": "Lyon",
        "country": "France",
        "position": None,
    }
    (employment,) = francois["employments"]
    assert employment["company"]["name"] == "Pomme Siège Central"
    assert employment["company"]["group"] == "Pomme"
    assert (employment["function"], employment["email"], employment["phone_e164"]) == (
        "Directeur financier",
        "f.lefevre@pomme.fr",
        "+33142685300",
    )
    names = {interest["id"]: interest["name"] for interest in bob.list_interests()["items"]}
    assert sorted(names[i] for i in francois["interests"]) == ["Comptable", "Libre"]


def test_quoted_fields_keep_their_delimiters_quotes_and_line_breaks(contacts):
    text = csv_text(
        "Nom;Prénom;Note;Adresse",
        'Dupont;Jeanne;"Rappeler lundi; puis ""urgent"".\nAccueil au 3e étage.";'
        '"3 rue des Vergers\nBâtiment B"',
    )

    job = imported(contacts, BOB, text)

    jeanne = by_last_name(contacts, BOB)["Dupont"]
    assert job["rows_created"] == 1
    assert jeanne["note"] == 'Rappeler lundi; puis "urgent".\nAccueil au 3e étage.'
    # An address is one line: its line breaks become separators.
    assert jeanne["address"]["street"] == "3 rue des Vergers, Bâtiment B"


@pytest.mark.parametrize(
    ("codec", "encoding"),
    [
        ("utf-8-sig", "utf-8-sig"),
        ("utf-8", "utf-8"),
        ("cp1252", "windows-1252"),
        ("iso8859_15", "iso-8859-15"),
    ],
)
def test_the_encoding_is_detected_and_francois_stays_francois(contacts, codec, encoding):
    text = csv_text(
        "Nom;Prénom;Société;Note",
        "Lefèvre;François;Œuvres & Cœur;Acompte de 120 € reçu",
        "Gérard;Zoé;Café Crème;Préfère l'après-midi",
    )

    job = imported(contacts, BOB, text.encode(codec))

    found = by_last_name(contacts, BOB)
    assert job["encoding"] == encoding
    assert found["Lefèvre"]["first_name"] == "François"
    assert found["Lefèvre"]["note"] == "Acompte de 120 € reçu"
    assert found["Gérard"]["current_companies"][0]["name"] == "Café Crème"
    assert found["Lefèvre"]["current_companies"][0]["name"] == "Œuvres & Cœur"


def test_a_utf16_file_from_excel_unicode_text_is_read(contacts):
    text = csv_text("Nom\tPrénom\tVille", "Lefèvre\tFrançois\tSaint-Étienne")

    job = imported(contacts, BOB, text.encode("utf-16"))

    assert (job["encoding"], job["delimiter"]) == ("utf-16", "\t")
    assert by_last_name(contacts, BOB)["Lefèvre"]["address"]["city"] == "Saint-Étienne"


@pytest.mark.parametrize(
    ("codec", "named", "encoding"),
    [
        ("utf-16-le", None, "utf-16-le"),
        ("utf-16-be", None, "utf-16-be"),
        ("utf-16-le", "utf-16", "utf-16-le"),
    ],
)
def test_a_utf16_file_without_byte_order_mark_is_read(contacts, codec, named, encoding):
    # Refused as "not a text file (it holds NUL bytes)", or a UnicodeError when named utf-16.
    text = csv_text("Nom\tPrénom\tVille", "Lefèvre\tFrançois\tSaint-Étienne")
    options = {"encoding": named} if named else {}

    job = imported(contacts, BOB, text.encode(codec), **options)

    assert (job["status"], job["encoding"], job["rows_created"]) == ("done", encoding, 1)
    assert by_last_name(contacts, BOB)["Lefèvre"]["first_name"] == "François"


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_the_delimiter_is_detected(contacts, delimiter):
    rows = [["Nom", "Prénom", "Note"], ["Dupont", "Jeanne", "Dupont, Durand; et associés"]]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)

    job = imported(contacts, BOB, out.getvalue())

    assert job["delimiter"] == delimiter
    assert by_last_name(contacts, BOB)["Dupont"]["note"] == "Dupont, Durand; et associés"


def test_english_headers_in_any_case_are_recognised(contacts):
    text = (
        "FIRST NAME,last_name,E-mail,Company,Job title,Work phone\n"
        "Zoé,Martin,zoe@exemple.fr,Cabinet Dupuis,Gérante,02 40 12 34 56\n"
    )

    job = imported(contacts, BOB, text)

    assert [column["field"] for column in job["columns"]] == [
        "first_name",
        "last_name",
        "email",
        "company",
        "function",
        "work_phone",
    ]
    zoe = by_last_name(contacts, BOB)["Martin"]
    assert zoe["current_companies"][0]["function"] == "Gérante"


def test_an_explicit_mapping_wins_and_can_ignore_a_column(contacts):
    text = csv_text(
        "Raison;Contact;Courriel;Notes internes",
        "Cabinet Dupuis;Durand;paul.durand@exemple.fr;Ne pas exporter",
    )

    job = imported(
        contacts, BOB, text, mapping={"raison": "company", "Contact": "last_name", "Notes internes": None}
    )

    assert job["columns"] == [
        {"column": "Raison", "field": "company"},
        {"column": "Contact", "field": "last_name"},
        {"column": "Courriel", "field": "email"},
        {"column": "Notes internes", "field": None},
    ]
    durand = by_last_name(contacts, BOB)["Durand"]
    assert (durand["email"], durand["note"]) == ("paul.durand@exemple.fr", None)
    assert durand["current_companies"][0]["name"] == "Cabinet Dupuis"


# -- bad rows ------------------------------------------------------------------------


def test_bad_rows_are_reported_by_row_and_column_and_the_good_rows_are_imported(contacts):
    text = csv_text(
        "Nom;Prénom;Email;Portable;Société;Fonction;Ville",
        "Dupont;Jeanne;jeanne@exemple.fr;;;;Lyon",
        "Mauvais;Courriel;jeanne@@exemple.fr;;Brioche & Fils;Boulanger;",
        "Mauvais;Portable;;pas de numéro;;;",
        f"{'L' * 201};Trop long;;;;;",
        "Sans;Société;;;;Comptable;",
        ";;;;;;Nantes",
        "Martin;Zoé;zoe@exemple.fr;06 12 34 56 78;;;Paris",
    )

    job = imported(contacts, BOB, text)

    assert (job["status"], job["rows_done"], job["rows_created"], job["rows_failed"]) == ("done", 7, 2, 5)
    reported = errors(contacts, BOB, job["id"])
    assert [(row, column) for row, column, _ in reported] == [
        (3, "Email"),
        (4, "Portable"),
        (5, "Nom"),
        (6, "Fonction"),
        (7, "Nom"),
    ]
    assert reported[0][2].startswith("not a valid e-mail address")
    assert reported[1][2].startswith("not a phone number")
    assert "at most 200 characters" in reported[2][2]
    assert reported[3][2] == "an employment detail needs a company on the same row"
    assert reported[4][2] == "a contact needs a first name or a last name"
    assert sorted(by_last_name(contacts, BOB)) == ["Dupont", "Martin"]
    # Nothing of a refused row is written, not even its company.
    assert contacts.as_user(BOB).search_companies(q="Brioche")["items"] == []


def test_a_row_in_another_encoding_is_refused_alone(contacts):
    content = csv_text("Nom;Prénom", "Lefèvre;François", "Durand;Zoé").encode() + b"Blanc;Gr\xe9goire\r\n"

    job = imported(contacts, BOB, content)

    assert (job["encoding"], job["rows_created"], job["rows_failed"]) == ("utf-8", 2, 1)
    ((row, column, reason),) = errors(contacts, BOB, job["id"])
    assert (row, column) == (4, "Prénom")
    assert "mixes encodings" in reason
    assert by_last_name(contacts, BOB)["Lefèvre"]["first_name"] == "François"


def test_a_cell_with_the_nul_character_fails_its_row_alone(contacts):
    text = csv_text("Nom\tPrénom", "Lefèvre\tFrançois", "Durand\tZo\x00é", "Martin\tJeanne")

    job = imported(contacts, BOB, text.encode("utf-16"))

    assert (job["status"], job["rows_created"], job["rows_failed"]) == ("done", 2, 1)
    ((row, column, reason),) = errors(contacts, BOB, job["id"])
    assert (row, column, reason) == (3, "Prénom", "holds the NUL character (U+0000)")
    assert sorted(by_last_name(contacts, BOB)) == ["Lefèvre", "Martin"]


def test_an_unclosed_quote_fails_its_row_and_the_rows_after_it_are_imported(contacts):
    text = csv_text(
        "Nom;Prénom;Email",
        "Dupont;Jeanne;jeanne@exemple.fr",
        'Durand;"Paul;paul@exemple.fr',
        "Martin;Zoé;zoe@exemple.fr",
        "Petit;Louis;louis@exemple.fr",
    )

    job = imported(contacts, BOB, text)

    assert (job["rows_created"], job["rows_failed"]) == (3, 1)
    ((row, column, reason),) = errors(contacts, BOB, job["id"])
    assert (row, column) == (3, "Prénom")
    assert "never closed" in reason
    assert sorted(by_last_name(contacts, BOB)) == ["Dupont", "Martin", "Petit"]


def test_text_after_a_closing_quote_fails_its_row_naming_the_column(contacts):
    text = csv_text("Nom;Prénom;Email", 'Durand;"Paul" le jeune;paul@exemple.fr', "Martin;Zoé;zoe@exemple.fr")

    job = imported(contacts, BOB, text)

    assert errors(contacts, BOB, job["id"])[0][:2] == (2, "Prénom")
    assert job["rows_created"] == 1


def test_extra_cells_beyond_the_header_fail_the_row(contacts):
    job = imported(contacts, BOB, csv_text("Nom;Prénom", "Dupont;Jeanne;en trop", "Martin;Zoé;;"))

    assert errors(contacts, BOB, job["id"]) == [(2, None, "the row has 3 cells but the header has 2 columns")]
    assert job["rows_created"] == 1


def test_blank_rows_are_skipped_and_keep_the_row_numbers_of_the_spreadsheet(contacts):
    job = imported(contacts, BOB, csv_text("Nom;Email", "Dupont;jeanne@exemple.fr", ";", "", "Martin;zoe@@"))

    assert job["total_rows"] == 2
    assert errors(contacts, BOB, job["id"])[0][:2] == (5, "Email")
