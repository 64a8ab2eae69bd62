"""Import jobs: a whole file checked and stored by start_import, listed, with its row errors."""

from __future__ import annotations

import csv
import io

import pytest

from crm.errors import Forbidden, InvalidInput
from services.contacts.exceptions import IdAlreadyUsed, ImportJobNotFound
from services.contacts.models import ImportJob
from tests.people import BOB, CLAIRE, DIANE
from tests.unit.contacts.csv.imports import (
    csv_text,
    imported,
    upload,
)


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


# -- refusing a whole file -----------------------------------------------------------


def test_a_file_without_a_name_or_email_column_is_refused_naming_its_columns(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), csv_text("Ville;Pays", "Lyon;France"))

    assert _fields(raised.value) == ["columns"]
    assert "'Ville', 'Pays'" in raised.value.detail
    assert contacts.count(ImportJob) == 0


def test_a_mapping_naming_no_column_of_the_file_is_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), csv_text("Nom;Prénom", "Dupont;Jeanne"), mapping={"Fax": "phone"})

    assert _fields(raised.value) == ["mapping.Fax"]


def test_a_mapping_to_an_unknown_field_is_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), csv_text("Nom;Prénom", "Dupont;Jeanne"), mapping={"Nom": "surname"})

    assert _fields(raised.value) == ["mapping.Nom"]


def test_two_columns_feeding_one_field_are_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), csv_text("Nom;Email;E-mail", "Dupont;a@exemple.fr;b@exemple.fr"))

    assert "'Email' and 'E-mail' both feed email" in raised.value.detail


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "not a text file"),
        (b"  \r\n", "empty"),
        (b'Nom;"Pr\xc3\xa9nom\r\nDupont;Jeanne\r\n', "row 1 (the header), column 2"),
    ],
)
def test_a_file_that_is_not_a_csv_is_refused_clearly(contacts, content, reason):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), content)

    assert _fields(raised.value) == ["content_base64"]
    assert reason in raised.value.detail


def test_a_file_over_the_size_limit_is_refused(contacts):
    section = contacts.settings.contacts.model_copy(update={"import_max_bytes": 1024})
    contacts.settings = contacts.settings.model_copy(update={"contacts": section})

    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), csv_text("Nom", *["Dupont"] * 200))

    assert "contacts.import_max_bytes" in raised.value.detail


def test_a_read_only_user_cannot_import(contacts):
    with pytest.raises(Forbidden):
        upload(contacts.as_user(CLAIRE), csv_text("Nom", "Dupont"))

    assert contacts.count(ImportJob) == 0


def test_the_same_job_id_with_the_same_file_is_queued_once(contacts):
    bob = contacts.as_user(BOB)
    job_id = "01a0c0de-0000-7000-8000-000000000001"
    first = upload(bob, csv_text("Nom", "Dupont"), id=job_id)

    replay = upload(bob, csv_text("Nom", "Dupont"), id=job_id)

    assert (first["created"], replay["created"], replay["id"]) == (True, False, job_id)
    assert len(contacts.events("import_queued")) == 1
    with pytest.raises(IdAlreadyUsed):
        upload(bob, csv_text("Nom", "Martin"), id=job_id)


def test_a_real_import_sent_with_its_dry_runs_id_is_refused_not_answered_with_the_dry_run(contacts):
    bob = contacts.as_user(BOB)
    job_id = "01a0c0de-0000-7000-8000-000000000002"
    upload(bob, csv_text("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True)

    with pytest.raises(IdAlreadyUsed) as refused:
        upload(bob, csv_text("Nom;Prénom", "Dupont;Jeanne"), id=job_id)
    assert (
        refused.value.errors[0]["message"] == "already used by an import of the same file with other options"
    )
    with pytest.raises(IdAlreadyUsed):
        upload(
            bob, csv_text("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True, mapping={"Prénom": None}
        )
    assert upload(bob, csv_text("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True)["created"] is False


def test_another_organisation_does_not_see_an_import(contacts):
    job = imported(contacts, BOB, csv_text("Nom", "Dupont"))
    diane = contacts.as_user(DIANE)

    with pytest.raises(ImportJobNotFound):
        diane.get_import(job["id"])
    with pytest.raises(ImportJobNotFound):
        diane.list_import_errors(job["id"])
    assert diane.list_imports()["items"] == []
    assert diane.search_contacts()["items"] == []


def test_imports_are_listed_latest_first_a_page_at_a_time(contacts):
    ids = [imported(contacts, BOB, csv_text("Nom", name))["id"] for name in ("Dupont", "Martin", "Durand")]
    bob = contacts.as_user(BOB)

    first = bob.list_imports(limit=2)
    rest = bob.list_imports(limit=2, cursor=first["next_cursor"])

    assert [job["id"] for job in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


def test_the_error_report_is_csv_with_row_line_column_and_reason(contacts):
    text = csv_text("Nom;Note;Email", 'Dupont;"deux\nlignes";jeanne@@exemple.fr', "Martin;;zoe@exemple.fr")
    job = imported(contacts, BOB, text)

    report = contacts.as_user(BOB).export_import_errors_csv(job["id"])

    rows = list(csv.reader(io.StringIO(report["csv"], newline=""), delimiter=";"))
    assert rows[0] == ["row", "line", "column", "field", "value", "reason"]
    assert rows[1][:5] == ["2", "2", "Email", "email", "jeanne@@exemple.fr"]
    assert report["next_cursor"] is None


def test_the_errors_of_an_import_are_paged_in_file_order(contacts):
    text = csv_text("Nom;Email", *[f"Client {n};mauvais-{n}" for n in range(5)])
    job = imported(contacts, BOB, text)
    bob = contacts.as_user(BOB)

    first = bob.list_import_errors(job["id"], limit=3)
    rest = bob.list_import_errors(job["id"], limit=3, cursor=first["next_cursor"])

    assert [e["row"] for e in first["items"] + rest["items"]] == [2, 3, 4, 5, 6]
    with pytest.raises(InvalidInput):
        bob.list_import_errors(job["id"], cursor="pas-un-curseur")
