"""Which contact field each column of an imported file feeds."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from services.contacts.csv.headers import FIELDS, LABELS, header_key, resolve_columns


def _fields(headers: list[str], mapping: dict | None = None) -> list[str | None]:
    return [column.field for column in resolve_columns(headers, mapping)]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Nom", "last_name"),
        ("Prénom", "first_name"),
        ("PRENOM", "first_name"),
        ("Société", "company"),
        ("societe", "company"),
        ("Fonction", "function"),
        ("Email professionnel", "work_email"),
        ("E-mail professionnel", "work_email"),
        ("Téléphone", "phone"),
        ("Portable", "mobile"),
        ("Adresse", "street"),
        ("Code postal", "postal_code"),
        ("code_postal", "postal_code"),
        ("Ville", "city"),
        ("Pays", "country"),
        ("Groupe", "group"),
        ("Centres d'intérêt", "interests"),
        ("Intérêts", "interests"),
        ("First name", "first_name"),
        ("Last Name", "last_name"),
        ("Job title", "function"),
        ("Zip code", "postal_code"),
        ("Twitter", "x"),
        ("Date de naissance", "birthday"),
        ("Site web", "website"),
    ],
)
def test_french_and_english_headers_are_recognised_whatever_their_case_and_accents(header, field):
    assert _fields([header, "Email"])[0] == (field if field != "email" else "email")


def test_every_export_label_reads_back_as_its_field():
    for labels in LABELS.values():
        assert _fields([labels[field] for field in FIELDS]) == list(FIELDS)


def test_unknown_columns_are_ignored():
    assert _fields(["Nom", "Numéro client", ""]) == ["last_name", None, None]


def test_the_header_key_keeps_letters_and_digits_only():
    assert header_key(" Centres d'Intérêt ") == "centresdinteret"


def test_the_mapping_wins_over_recognition_and_may_ignore_a_column():
    assert _fields(["Nom", "Raison", "Ville"], {"Nom": None, "raison": "last_name"}) == [
        None,
        "last_name",
        "city",
    ]


@pytest.mark.parametrize(
    ("headers", "mapping", "field"),
    [
        (["Ville", "Pays"], None, "columns"),
        (["Nom", "Email", "Courriel"], None, "columns"),
        (["Nom"], {"Fax": "phone"}, "mapping.Fax"),
        (["Nom"], {"Nom": "surname"}, "mapping.Nom"),
    ],
)
def test_a_header_that_cannot_be_imported_is_refused_naming_what_is_wrong(headers, mapping, field):
    with pytest.raises(InvalidInput) as raised:
        resolve_columns(headers, mapping)

    assert [error["field"] for error in raised.value.errors] == [field]


def test_a_work_email_alone_is_enough_to_find_contacts():
    assert _fields(["Email professionnel", "Société"]) == ["work_email", "company"]
