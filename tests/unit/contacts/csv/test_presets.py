"""Files as Google Contacts, Outlook and LinkedIn export them, read by the preset of their layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.contacts.csv.presets import preset_for
from services.contacts.csv.rows import day_text, first_or_all, place_extras
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
    "name", ["linkedin_connections.csv", "outlook_contacts.csv", "google_contacts_legacy.csv"]
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
