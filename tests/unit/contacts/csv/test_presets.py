"""Files as Google Contacts, Outlook and LinkedIn export them, read by the preset of their layout."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from crm.errors import InvalidInput
from services.contacts.csv.presets import preset_fields, preset_for
from services.contacts.csv.rows import day_text, first_or_all, merged, place_extras
from tests.people import BOB
from tests.unit.contacts.csv.imports import by_last_name, csv_text, errors, imported, upload

FIXTURES = Path(__file__).parents[3] / "fixtures" / "csv"


def _file(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _interests(contacts, contact: dict) -> list[str]:
    names = {item["id"]: item["name"] for item in contacts.as_user(BOB).list_interests()["items"]}
    return sorted(names[interest_id] for interest_id in contact["interests"])


def _mapped(job: dict) -> dict[str, str]:
    return {column["column"]: column["field"] for column in job["columns"] if column["field"]}


@pytest.mark.parametrize(
    ("name", "preset", "columns"),
    [
        ("google_contacts.csv", "google", 36),
        ("google_contacts_legacy.csv", "google_legacy", 56),
        ("outlook_contacts.csv", "outlook", 92),
        ("linkedin_connections.csv", "linkedin", 7),
        ("excel_sep_line.csv", None, 5),
    ],
)
def test_the_dry_run_names_the_layout_and_lists_every_column(contacts, name, preset, columns):
    job = upload(contacts.as_user(BOB), _file(name), file_name=name, dry_run=True)

    assert job["preset"] == preset
    assert len(job["columns"]) == columns


def test_outlook_title_is_the_honorific_and_job_title_the_function(contacts):
    job = imported(contacts, BOB, _file("outlook_contacts.csv"))

    assert (job["status"], job["rows_created"], job["rows_failed"]) == ("done", 2, 0)
    columns = {column["column"]: column["field"] for column in job["columns"]}
    assert (columns["Title"], columns["Job Title"]) == (None, "function")
    francois = by_last_name(contacts, BOB)["Lefèvre"]
    record = contacts.as_user(BOB).get_contact(francois["id"])
    assert record["employments"][0]["function"] == "Directeur financier"
    assert (record["address"]["city"], record["mobile_e164"]) == ("Lyon", "+33612345678")
    assert _interests(contacts, record) == ["Clients", "Salon 2024"]
    assert record["note"] == "Préfère être appelé le matin – café noir."
    assert (record["birthday"], record["website"]) == ("1975-07-14", "https://pomme.example/")
    assert by_last_name(contacts, BOB)["Bérénice"]["birthday"] is None  # Outlook's "0/0/00"


def test_outlook_second_emails_business_phone_and_business_address_have_their_place(contacts):
    job = imported(contacts, BOB, _file("outlook_contacts.csv"))

    assert (job["rows_created"], job["rows_failed"]) == (2, 0)
    mapped = _mapped(job)
    assert [mapped[name] for name in ("E-mail 2 Address", "E-mail 3 Address", "Business Phone")] == [
        "work_email",
        "work_email",
        "work_phone",
    ]
    assert [mapped[name] for name in ("Business Street", "Business City", "Business Postal Code")] == [
        "street",
        "city",
        "postal_code",
    ]
    found = by_last_name(contacts, BOB)
    francois = contacts.as_user(BOB).get_contact(found["Lefèvre"]["id"])
    # At Pomme Siège Central: E-mail 2 and the business phone are the employment's; his third
    # e-mail has no room. His Home address is the contact's, not his Business one.
    employment = francois["employments"][0]
    assert (employment["email"], employment["phone_e164"]) == ("f.lefevre@pomme.fr", "+33142685300")
    assert francois["email"] == "francois.lefevre@exemple.fr"
    assert (francois["address"]["street"], francois["address"]["city"]) == ("3 place du Marché", "Lyon")
    # Zoé has no company: her business phone is her phone, her E-mail 2 has no room (she has an
    # e-mail), and with no Home address her Business address is taken whole.
    zoe = contacts.as_user(BOB).get_contact(found["Bérénice"]["id"])
    assert (zoe["email"], zoe["phone_e164"], zoe["employments"]) == (
        "zoe.berenice@exemple.fr",
        "+33235714002",
        [],
    )
    assert zoe["address"] == {
        "street": "8 quai Saint-Éloi",
        "postal_code": "76000",
        "city": "Rouen",
        "country": "France",
        "position": None,
    }


@pytest.mark.parametrize(
    ("cells", "one"),
    [
        # Home (rank 0) wins as a whole over Business (rank 1), even where it lacks a part.
        (
            {"street": [(1, "12 rue de la Paix"), (0, "3 place du Marché")], "city": [(1, "Paris"), (0, "")]},
            {"street": "3 place du Marché", "city": ""},
        ),
        (
            {"street": [(0, ""), (1, "8 quai")], "city": [(0, ""), (1, "Rouen")]},
            {"street": "8 quai", "city": "Rouen"},
        ),
        # Other fields: every value, the preferred column's first.
        ({"work_email": [(1, "c@x.fr"), (0, "b@x.fr")]}, {"work_email": "b@x.fr ::: c@x.fr"}),
        ({"work_email": [(0, ""), (1, "c@x.fr")]}, {"work_email": "c@x.fr"}),
        ({"email": [(0, "a@x.fr ::: b@x.fr")]}, {"email": "a@x.fr ::: b@x.fr"}),
    ],
)
def test_the_columns_a_preset_feeds_one_field_from_make_one_cell(cells, one):
    assert merged(cells) == one


def test_a_file_of_no_known_layout_still_may_not_feed_one_field_from_two_columns(contacts):
    with pytest.raises(InvalidInput, match="both feed street"):
        upload(contacts.as_user(BOB), csv_text("Nom;Adresse;Rue", "Zola;1 rue A;2 rue B"), dry_run=True)


def test_google_legacy_multi_value_cells_fill_the_free_fields_and_the_groups_become_interests(contacts):
    job = imported(contacts, BOB, _file("google_contacts_legacy.csv"))

    assert (job["rows_created"], job["rows_failed"]) == (2, 0)
    found = by_last_name(contacts, BOB)
    assert found["Lefèvre"]["email"] == "francois.lefevre@exemple.fr"
    francois = contacts.as_user(BOB).get_contact(found["Lefèvre"]["id"])
    assert francois["employments"][0]["email"] == "f.lefevre@pomme.fr"
    assert _interests(contacts, found["Lefèvre"]) == ["Clients"]
    assert (found["Bérénice"]["phone"], found["Bérénice"]["mobile"]) == ("06 98 76 54 32", "07 81 22 33 44")
    assert _interests(contacts, found["Bérénice"]) == ["Amis", "Clients"]


def test_google_current_layout_keeps_emails_phones_address_and_organisation(contacts):
    job = imported(contacts, BOB, _file("google_contacts.csv"))

    assert (job["rows_created"], job["rows_failed"]) == (2, 0)
    assert _mapped(job)["E-mail 1 - Value"] == "email"
    # Zoé's second phone, 07 11 22 33 44, is no phone number: not kept, and her row imported.
    assert by_last_name(contacts, BOB)["Bérénice"]["mobile"] is None
    francois = contacts.as_user(BOB).get_contact(by_last_name(contacts, BOB)["Lefèvre"]["id"])
    assert (francois["email"], francois["address"]["postal_code"]) == ("francois.lefevre@exemple.fr", "69001")
    assert francois["employments"][0]["company"]["name"] == "Pomme Siège Central"
    assert (_mapped(job)["E-mail 2 - Value"], francois["employments"][0]["email"]) == (
        "work_email",
        "f.lefevre@pomme.fr",
    )


def test_linkedin_notes_before_the_header_are_skipped_and_url_is_the_profile(contacts):
    job = imported(contacts, BOB, _file("linkedin_connections.csv"))

    assert (job["status"], job["rows_created"], job["rows_failed"]) == ("done", 2, 0)
    assert {column["column"]: column["field"] for column in job["columns"]}["Connected On"] is None
    zoe = by_last_name(contacts, BOB)["Bérénice"]
    assert zoe["social"]["linkedin"] == "https://www.linkedin.com/in/zoeberenice"


def test_excel_sep_line_is_skipped_and_gives_the_delimiter(contacts):
    job = imported(contacts, BOB, _file("excel_sep_line.csv"))

    assert (job["delimiter"], job["rows_created"], job["rows_failed"]) == (";", 2, 0)
    assert errors(contacts, BOB, job["id"]) == []
    assert by_last_name(contacts, BOB)["Lefèvre"]["first_name"] == "François"


@pytest.mark.parametrize(
    ("field", "cell", "kept"),
    [
        ("email", "a@exemple.fr ::: b@exemple.fr", "a@exemple.fr"),
        ("interests", "* myContacts ::: Clients", "Clients"),
        ("interests", "* starred ::: Amis ::: Clients", "Amis\nClients"),
        ("note", "Pas de séparateur ici", "Pas de séparateur ici"),
    ],
)
def test_google_multi_value_cells(field, cell, kept):
    assert first_or_all(field, cell) == kept


@pytest.mark.parametrize(
    ("raw", "field", "cell", "placed"),
    [
        ({"email": "a@exemple.fr"}, "email", "a@exemple.fr ::: b@exemple.fr", {}),
        (
            {"email": "a@exemple.fr", "company": "Chambre 404"},
            "email",
            "a@exemple.fr ::: b@exemple.fr",
            {"work_email": "b@exemple.fr"},
        ),
        ({"phone": "01", "mobile": ""}, "phone", "01 ::: 06 ::: 07", {"mobile": "06"}),
        ({"phone": "01", "mobile": "06"}, "phone", "01 ::: 07", {}),
    ],
)
def test_the_values_after_the_first_go_where_the_contact_has_room(raw, field, cell, placed):
    before = dict(raw)

    place_extras(raw, field, cell)

    assert {name: value for name, value in raw.items() if before.get(name) != value} == placed


@pytest.mark.parametrize(
    ("cell", "region", "day"),
    [
        ("14/07/1975", "FR", "1975-07-14"),
        ("7/14/1975", "US", "1975-07-14"),
        ("7/4/1975", "US", "1975-07-04"),
        ("7/4/1975", "FR", "1975-04-07"),
        ("0/0/00", "FR", ""),
        ("--07-14", "FR", ""),
        ("1975-07-14", "FR", "1975-07-14"),
    ],
)
def test_birthdays_as_outlook_and_google_write_them(cell, region, day):
    assert day_text(cell, region) == day


def test_a_file_of_another_layout_has_no_preset():
    assert preset_for(["Nom", "Prénom", "Title"]) is None


# -- importing the same file again ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["linkedin_connections.csv", "outlook_contacts.csv", "google_contacts_legacy.csv", "google_contacts.csv"],
)
def test_importing_the_same_export_again_updates_the_same_contacts(contacts, name):
    imported(contacts, BOB, _file(name))

    again = imported(contacts, BOB, _file(name))

    assert (again["rows_created"], again["rows_unchanged"], again["rows_failed"]) == (0, 2, 0)
    assert len(by_last_name(contacts, BOB)) == 2


def test_a_row_without_email_updates_the_namesake_at_the_same_company(contacts):
    imported(contacts, BOB, csv_text("Prénom;Nom;Société", "Zoé;Bérénice;Chambre 404"))

    again = imported(
        contacts,
        BOB,
        csv_text("Prénom;Nom;Société;Email", "ZOE;berenice;chambre 404;zoe.berenice@exemple.fr"),
    )

    assert (again["rows_created"], again["rows_updated"]) == (0, 1)
    (zoe,) = contacts.as_user(BOB).search_contacts(limit=10)["items"]
    assert zoe["email"] == "zoe.berenice@exemple.fr"


def test_a_namesake_at_another_company_or_with_another_email_is_another_contact(contacts):
    imported(contacts, BOB, csv_text("Prénom;Nom;Société;Email", "Zoé;Bérénice;Chambre 404;zoe@exemple.fr"))

    again = imported(
        contacts,
        BOB,
        csv_text(
            "Prénom;Nom;Société;Email",
            "Zoé;Bérénice;Pomme Siège Central;",
            "Zoé;Bérénice;Chambre 404;zoe.autre@exemple.fr",
        ),
    )

    assert again["rows_created"] == 2


# -- Google's " ::: " cells in every column that can hold several values ---------------

_TWO_VALUES = {
    "first_name": "Zoé ::: Zozo",
    "last_name": "Bérénice ::: B.",
    "company": "Chambre 404 ::: Pomme Siège Central",
    "function": "Gérante ::: Associée",
    "note": "Vue au salon ::: Rappeler",
    "interests": "* myContacts ::: Amis ::: Clients",
    "birthday": "1980-02-03 ::: 1981-01-01",
    "website": "https://chambre404.example ::: https://zoe.example",
    "email": "zoe@perso.example ::: zoe@autre.example",
    "work_email": "zoe@chambre404.example ::: contact@chambre404.example",
    "phone": "01 42 68 53 00 ::: 06 12 34 56 78",
    "mobile": "07 81 22 33 44 ::: 06 98 76 54 32",
    "work_phone": "+33 1 42 68 53 01 ::: +33 1 42 68 53 02",
    "street": "8 quai Saint-Éloi ::: 3 place du Marché",
    "city": "Rouen ::: Lyon",
    "postal_code": "76000 ::: 69001",
    "country": "France ::: Belgique",
}


@pytest.mark.parametrize(
    ("name", "preset"), [("google_contacts.csv", "google"), ("google_contacts_legacy.csv", "google_legacy")]
)
def test_every_google_multi_value_cell_is_split_in_both_layouts(contacts, name, preset):
    header = next(csv.reader(io.StringIO(_file(name).decode("utf-8-sig"))))
    fields = dict(zip(header, preset_fields(preset, header), strict=True))
    # Every column the preset reads gets two values (a KeyError names one this test lacks).
    row = [_TWO_VALUES[fields[column]] if fields[column] else "" for column in header]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, row])

    job = imported(contacts, BOB, text.getvalue())

    assert (job["preset"], job["rows_created"], job["rows_failed"]) == (preset, 1, 0)
    (found,) = by_last_name(contacts, BOB).values()
    zoe = contacts.as_user(BOB).get_contact(found["id"])
    assert ":::" not in json.dumps(zoe, default=str)
    assert (zoe["first_name"], zoe["last_name"], zoe["email"]) == ("Zoé", "Bérénice", "zoe@perso.example")
    assert (zoe["phone"], zoe["mobile"], zoe["birthday"]) == (
        "01 42 68 53 00",
        "07 81 22 33 44",
        "1980-02-03",
    )
    assert (zoe["address"]["street"], zoe["address"]["city"]) == ("8 quai Saint-Éloi", "Rouen")
    (employment,) = zoe["employments"]
    assert (employment["company"]["name"], employment["function"]) == ("Chambre 404", "Gérante")
    # The second e-mail has no room: the work e-mail has its own column.
    assert employment["email"] == "zoe@chambre404.example"
    assert _interests(contacts, zoe) == ["Amis", "Clients"]
