"""Latitude and Longitude columns: a contact's position from an import, and back from an export."""

from __future__ import annotations

import csv
import io

from tests.people import BOB
from tests.unit.contacts.csv.imports import by_last_name, csv_text, errors, imported

HEADER = "Nom;Prénom;Email;Ville;Latitude;Longitude"


def test_latitude_and_longitude_columns_give_the_contact_a_position_from_the_import(contacts):
    job = imported(
        contacts,
        BOB,
        csv_text(
            HEADER,
            "Dupont;Jeanne;jeanne.dupont@exemple.fr;Lyon;45.7640;4.8357",
            # As a French spreadsheet writes decimals.
            'Lefèvre;François;francois.lefevre@exemple.fr;Paris;"48,8693";"2,3311"',
            "Martin;Zoé;zoe.martin@exemple.fr;Rouen;;",
        ),
    )

    assert (job["rows_created"], job["rows_failed"]) == (3, 0)
    found = by_last_name(contacts, BOB)
    assert found["Dupont"]["address"]["position"] == {
        "latitude": 45.764,
        "longitude": 4.8357,
        "source": "import",
    }
    assert found["Lefèvre"]["address"]["position"] == {
        "latitude": 48.8693,
        "longitude": 2.3311,
        "source": "import",
    }
    assert found["Martin"]["address"]["position"] is None
    nearest = contacts.as_user(BOB).search_contacts(near="48.87,2.33")["items"]
    assert [item["last_name"] for item in nearest] == ["Lefèvre", "Dupont"]


def test_english_and_short_headers_are_recognised(contacts):
    job = imported(
        contacts, BOB, csv_text("Last name,Email,Lat,Lng", "Dupont,jeanne.dupont@exemple.fr,45.764,4.8357")
    )

    assert job["rows_created"] == 1
    assert by_last_name(contacts, BOB)["Dupont"]["address"]["position"]["longitude"] == 4.8357


def test_a_bad_position_refuses_its_row_naming_the_column_and_the_others_go_on(contacts):
    job = imported(
        contacts,
        BOB,
        csv_text(
            HEADER,
            "Dupont;Jeanne;jeanne.dupont@exemple.fr;Lyon;91;4.8357",
            "Lefèvre;François;francois.lefevre@exemple.fr;Paris;48.8693;près du parc",
            "Martin;Zoé;zoe.martin@exemple.fr;Rouen;49.4431;",
            "Petit;Luc;luc.petit@exemple.fr;Nantes;47.2184;-1.5536",
        ),
    )

    assert (job["rows_created"], job["rows_failed"]) == (1, 3)
    reasons = errors(contacts, BOB, job["id"])
    assert [(row, column) for row, column, _ in reasons] == [
        (2, "Latitude"),
        (3, "Longitude"),
        (4, "Latitude"),
    ]
    assert "90" in reasons[0][2]
    assert "number" in reasons[1][2]
    assert reasons[2][2] == "a position needs a longitude too, on the same row"
    assert list(by_last_name(contacts, BOB)) == ["Petit"]


def test_an_update_by_import_moves_the_contact_and_a_row_without_position_keeps_it(contacts):
    bob = contacts.as_user(BOB)
    typed = {"latitude": 45.764, "longitude": 4.8357, "source": "typed"}
    jeanne = bob.create_contact(
        {"last_name": "Dupont", "email": "jeanne.dupont@exemple.fr", "address": {"position": typed}}
    )

    imported(contacts, BOB, csv_text(HEADER, "Dupont;Jeanne;jeanne.dupont@exemple.fr;Lyon;;"))
    assert bob.get_contact(jeanne["id"])["address"]["position"] == typed
    imported(contacts, BOB, csv_text(HEADER, "Dupont;Jeanne;jeanne.dupont@exemple.fr;Lyon;45.7578;4.832"))
    assert bob.get_contact(jeanne["id"])["address"]["position"] == {
        "latitude": 45.7578,
        "longitude": 4.832,
        "source": "import",
    }


def test_the_export_writes_the_position_and_reads_back_unchanged(contacts):
    bob = contacts.as_user(BOB)
    typed = {"latitude": 45.764, "longitude": 4.8357, "source": "typed"}
    bob.create_contact(
        {"last_name": "Dupont", "email": "jeanne.dupont@exemple.fr", "address": {"position": typed}}
    )

    text = bob.export_contacts_csv()["csv"]
    header, row = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    cells = dict(zip(header, row, strict=True))
    assert (cells["Latitude"], cells["Longitude"]) == ("45.764", "4.8357")

    job = imported(contacts, BOB, text)
    assert (job["rows_updated"], job["rows_unchanged"]) == (0, 1)
    assert by_last_name(contacts, BOB)["Dupont"]["address"]["position"] == typed
