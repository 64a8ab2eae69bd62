"""CSV imports through single contacts workers: start_import, the import_queued handler, progress."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from greenlet import GreenletExit
from sqlalchemy import update

from crm.errors import Forbidden, InvalidInput
from services.contacts import csv_import, import_jobs
from services.contacts.exceptions import IdAlreadyUsed, ImportJobNotFound
from services.contacts.models import Contact, Employment, ImportJob
from tests.unit.contacts.imports import batches_of, by_last_name, errors, imported, run_queued, upload
from tests.unit.contacts.people import BOB, CLAIRE, DIANE, JEANNE, SIEGE

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = (
    "Nom;Prénom;Email;Téléphone;Portable;Adresse;Code postal;Ville;Pays;"
    "Société;Groupe;Fonction;Email professionnel;Téléphone professionnel;Centres d'intérêt"
)
FRANCOIS_ROW = (
    "Lefèvre;François;francois.lefevre@exemple.fr;01 45 67 89 10;06 12 34 56 78;3 place du Marché;69001;"
    "Lyon;France;Pomme Siège Central;Pomme;Directeur financier;f.lefevre@pomme.fr;01 42 68 53 00;"
    '"Comptable, Libre"'
)


def _csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


def _records_footprint(contacts) -> dict[str, int]:
    """Rows of the contacts' own tables (the outbox aside: imports announce themselves)."""
    return {table: rows for table, rows in contacts.footprint().items() if table != "outbox"}


# -- reading the file ----------------------------------------------------------------


def test_a_french_file_creates_contacts_with_company_employment_and_interests(contacts):
    job = imported(contacts, BOB, _csv(HEADER, FRANCOIS_ROW))

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
    text = _csv(
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
    text = _csv(
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
    text = _csv("Nom\tPrénom\tVille", "Lefèvre\tFrançois\tSaint-Étienne")

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
    text = _csv("Nom\tPrénom\tVille", "Lefèvre\tFrançois\tSaint-Étienne")
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
    text = _csv(
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


# -- refusing a whole file -----------------------------------------------------------


def test_a_file_without_a_name_or_email_column_is_refused_naming_its_columns(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), _csv("Ville;Pays", "Lyon;France"))

    assert _fields(raised.value) == ["columns"]
    assert "'Ville', 'Pays'" in raised.value.detail
    assert contacts.count(ImportJob) == 0


def test_a_mapping_naming_no_column_of_the_file_is_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), _csv("Nom;Prénom", "Dupont;Jeanne"), mapping={"Fax": "phone"})

    assert _fields(raised.value) == ["mapping.Fax"]


def test_a_mapping_to_an_unknown_field_is_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), _csv("Nom;Prénom", "Dupont;Jeanne"), mapping={"Nom": "surname"})

    assert _fields(raised.value) == ["mapping.Nom"]


def test_two_columns_feeding_one_field_are_refused(contacts):
    with pytest.raises(InvalidInput) as raised:
        upload(contacts.as_user(BOB), _csv("Nom;Email;E-mail", "Dupont;a@exemple.fr;b@exemple.fr"))

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
        upload(contacts.as_user(BOB), _csv("Nom", *["Dupont"] * 200))

    assert "contacts.import_max_bytes" in raised.value.detail


def test_a_read_only_user_cannot_import(contacts):
    with pytest.raises(Forbidden):
        upload(contacts.as_user(CLAIRE), _csv("Nom", "Dupont"))

    assert contacts.count(ImportJob) == 0


# -- bad rows ------------------------------------------------------------------------


def test_bad_rows_are_reported_by_row_and_column_and_the_good_rows_are_imported(contacts):
    text = _csv(
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
    content = _csv("Nom;Prénom", "Lefèvre;François", "Durand;Zoé").encode() + b"Blanc;Gr\xe9goire\r\n"

    job = imported(contacts, BOB, content)

    assert (job["encoding"], job["rows_created"], job["rows_failed"]) == ("utf-8", 2, 1)
    ((row, column, reason),) = errors(contacts, BOB, job["id"])
    assert (row, column) == (4, "Prénom")
    assert "mixes encodings" in reason
    assert by_last_name(contacts, BOB)["Lefèvre"]["first_name"] == "François"


def test_a_cell_with_the_nul_character_fails_its_row_alone(contacts):
    text = _csv("Nom\tPrénom", "Lefèvre\tFrançois", "Durand\tZo\x00é", "Martin\tJeanne")

    job = imported(contacts, BOB, text.encode("utf-16"))

    assert (job["status"], job["rows_created"], job["rows_failed"]) == ("done", 2, 1)
    ((row, column, reason),) = errors(contacts, BOB, job["id"])
    assert (row, column, reason) == (3, "Prénom", "holds the NUL character (U+0000)")
    assert sorted(by_last_name(contacts, BOB)) == ["Lefèvre", "Martin"]


def test_an_unclosed_quote_fails_its_row_and_the_rows_after_it_are_imported(contacts):
    text = _csv(
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
    text = _csv("Nom;Prénom;Email", 'Durand;"Paul" le jeune;paul@exemple.fr', "Martin;Zoé;zoe@exemple.fr")

    job = imported(contacts, BOB, text)

    assert errors(contacts, BOB, job["id"])[0][:2] == (2, "Prénom")
    assert job["rows_created"] == 1


def test_extra_cells_beyond_the_header_fail_the_row(contacts):
    job = imported(contacts, BOB, _csv("Nom;Prénom", "Dupont;Jeanne;en trop", "Martin;Zoé;;"))

    assert errors(contacts, BOB, job["id"]) == [(2, None, "the row has 3 cells but the header has 2 columns")]
    assert job["rows_created"] == 1


def test_blank_rows_are_skipped_and_keep_the_row_numbers_of_the_spreadsheet(contacts):
    job = imported(contacts, BOB, _csv("Nom;Email", "Dupont;jeanne@exemple.fr", ";", "", "Martin;zoe@@"))

    assert job["total_rows"] == 2
    assert errors(contacts, BOB, job["id"])[0][:2] == (5, "Email")


# -- update or create ----------------------------------------------------------------


def test_a_contact_is_updated_by_email_and_empty_cells_clear_nothing(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    text = _csv(
        "Email;Nom;Prénom;Portable;Ville",
        "JEANNE.DUPONT@exemple.fr;;;06 98 76 54 32;Villeurbanne",
        "zoe.martin@exemple.fr;Martin;Zoé;;Paris",
    )

    job = imported(contacts, BOB, text)

    assert (job["rows_created"], job["rows_updated"]) == (1, 1)
    updated = bob.get_contact(jeanne["id"])
    assert (updated["first_name"], updated["last_name"]) == ("Jeanne", "Dupont")
    assert (updated["mobile_e164"], updated["address"]["city"]) == ("+33698765432", "Villeurbanne")
    assert updated["phone"] == JEANNE["phone"]
    assert updated["version"] == 2
    assert contacts.events("contact_updated")[-1]["record"]["id"] == jeanne["id"]


def test_importing_the_same_file_again_changes_nothing(contacts):
    text = _csv(HEADER, FRANCOIS_ROW, "Martin;Zoé;zoe@exemple.fr;;;;;;;Cabinet Dupuis;;Gérante;;;Libre")
    imported(contacts, BOB, text)
    events_before = len(contacts.events())

    again = imported(contacts, BOB, text)

    assert (again["rows_unchanged"], again["rows_created"], again["rows_updated"]) == (2, 0, 0)
    assert (again["companies_created"], again["interests_created"]) == (0, 0)
    assert [e["event_type"] for e in contacts.events()[events_before:]] == [
        "import_queued",
        "import_started",
        "import_finished",
    ]


def test_a_new_function_updates_the_employment_rather_than_adding_one(contacts):
    imported(
        contacts, BOB, _csv("Nom;Email;Société;Fonction", "Dupont;jeanne@exemple.fr;Pomme Magasin;Vendeuse")
    )

    job = imported(
        contacts, BOB, _csv("Nom;Email;Société;Fonction", "Dupont;jeanne@exemple.fr;POMME MAGASIN;Gérante")
    )

    assert job["rows_updated"] == 1
    contact = contacts.as_user(BOB).get_contact(by_last_name(contacts, BOB)["Dupont"]["id"])
    assert [(e["company"]["name"], e["function"], e["version"]) for e in contact["employments"]] == [
        ("Pomme Magasin", "Gérante", 2)
    ]


def test_a_row_without_personal_email_finds_its_contact_by_work_email(contacts):
    text = _csv(
        "Nom;Société;Email professionnel;Fonction", "Durand;Cabinet Dupuis;p.durand@dupuis.fr;Associé"
    )
    imported(contacts, BOB, text)

    job = imported(contacts, BOB, text.replace("Associé", "Associé gérant"))

    assert (job["rows_created"], job["rows_updated"]) == (0, 1)
    assert contacts.count(Contact) == 1
    assert by_last_name(contacts, BOB)["Durand"]["current_companies"][0]["function"] == "Associé gérant"


def test_the_same_email_twice_in_a_file_creates_then_updates(contacts):
    text = _csv("Email;Nom;Ville", "zoe@exemple.fr;Martin;Paris", "ZOE@exemple.fr;Martin;Lyon")

    job = imported(contacts, BOB, text)

    assert (job["rows_created"], job["rows_updated"]) == (1, 1)
    zoe = by_last_name(contacts, BOB)["Martin"]
    assert (zoe["address"]["city"], zoe["version"]) == ("Lyon", 2)


def test_companies_are_reused_by_name_whatever_the_case_and_accents_and_created_once(contacts):
    siege = contacts.as_user(BOB).create_company(SIEGE)
    batches_of(contacts, 2)
    text = _csv(
        "Nom;Société",
        "Dupont;POMME SIEGE CENTRAL",
        "Martin;pomme siège central",
        "Durand;Cabinet Dupuis",
        "Petit;Cabinet Dupuis",
        "Blanc;cabinet dupuis",
    )

    job = imported(contacts, BOB, text)

    assert job["companies_created"] == 1
    names = sorted(c["name"] for c in contacts.as_user(BOB).search_companies()["items"])
    assert names == ["Cabinet Dupuis", "Pomme Siège Central"]
    assert len(contacts.as_user(BOB).get_company(siege["id"])["contacts"]) == 2


def test_known_interests_are_matched_whatever_their_case(contacts):
    comptable = contacts.as_user(BOB).create_interest({"name": "Comptable"})

    job = imported(contacts, BOB, _csv("Nom;Intérêts", "Dupont;comptable | Libre"))

    assert job["interests_created"] == 1
    assert comptable["id"] in by_last_name(contacts, BOB)["Dupont"]["interests"]


# -- dry run -------------------------------------------------------------------------


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(contacts):
    contacts.as_user(BOB).create_contact(JEANNE)
    batches_of(contacts, 2)
    before, events_before = _records_footprint(contacts), len(contacts.events())
    text = _csv(
        "Email;Nom;Prénom;Société;Centres d'intérêt",
        "jeanne.dupont@exemple.fr;;;Pomme Magasin;Libre",
        "zoe@exemple.fr;Martin;Zoé;Cabinet Dupuis;Libre",
        "paul@exemple.fr;Durand;Paul;cabinet dupuis;",
        "zoe@exemple.fr;Martin;Zoé;Cabinet Dupuis;Comptable",
        "pas-une-adresse;Petit;Louis;;",
    )

    job = imported(contacts, BOB, text, dry_run=True)

    assert job["dry_run"] is True
    assert (job["rows_created"], job["rows_updated"], job["rows_failed"]) == (2, 2, 1)
    assert (job["companies_created"], job["interests_created"]) == (2, 2)
    assert errors(contacts, BOB, job["id"])[0][:2] == (6, "Email")
    assert _records_footprint(contacts) == before
    assert [e["event_type"] for e in contacts.events()[events_before:]] == [
        "import_queued",
        "import_started",
        "import_finished",
    ]


# -- the job -------------------------------------------------------------------------


def test_progress_is_recorded_batch_by_batch(contacts):
    job = upload(contacts.as_user(BOB), _csv("Nom", "Dupont", "Martin", "Durand", "Petit", "Blanc"))
    seen = []

    def between_batches(seconds: float) -> None:
        progress = contacts.as_user(BOB).get_import(job["id"])
        seen.append((progress["status"], progress["rows_done"], progress["total_rows"]))

    import_jobs.run(contacts.db, job["id"], "FR", 2, sleep=between_batches)

    assert seen == [("running", 2, 5), ("running", 4, 5), ("running", 5, 5)]
    assert contacts.as_user(BOB).get_import(job["id"])["status"] == "done"


def test_events_announce_the_import_and_each_record(contacts):
    job = imported(contacts, BOB, _csv("Nom;Société", "Dupont;Pomme Magasin"))

    assert [e["event_type"] for e in contacts.events()] == [
        "import_queued",
        "import_started",
        "company_created",
        "contact_created",
        "import_finished",
    ]
    finished = contacts.events("import_finished")[0]
    assert (finished["record"]["id"], finished["record"]["status"]) == (job["id"], "done")
    created = contacts.events("contact_created")[0]["record"]
    assert created["employments"][0]["company"]["name"] == "Pomme Magasin"
    assert (finished["actor_id"], created["org_id"]) == (BOB.user_id, BOB.org_id)


def test_an_import_resumes_after_its_runner_died_without_writing_a_row_twice(contacts):
    job = upload(contacts.as_user(BOB), _csv("Nom", "Dupont", "Martin", "Durand", "Petit", "Blanc"))

    def killed(seconds: float) -> None:
        raise GreenletExit()

    with pytest.raises(GreenletExit):
        import_jobs.run(contacts.db, job["id"], "FR", 2, sleep=killed)
    assert contacts.as_user(BOB).get_import(job["id"])["rows_done"] == 2 and contacts.as_user(BOB).get_import(
        job["id"]
    )["status"] == ("running")

    import_jobs.run(contacts.db, job["id"], "FR", 2, lease_seconds=0)

    finished = contacts.as_user(BOB).get_import(job["id"])
    assert (finished["status"], finished["rows_done"], finished["rows_created"]) == ("done", 5, 5)
    assert contacts.count(Contact) == 5


def test_a_second_delivery_waits_while_the_first_runner_is_alive(contacts):
    job = upload(contacts.as_user(BOB), _csv("Nom", "Dupont"))
    assert import_jobs._claim(contacts.db, job["id"], "premier-coureur", 60)
    waits = []

    def first_runner_dies(seconds: float) -> None:
        waits.append(seconds)
        with contacts.db.transaction() as uow:
            uow.session.execute(
                update(ImportJob).where(ImportJob.id == job["id"]).values(heartbeat_at=LONG_AGO)
            )

    import_jobs.run(contacts.db, job["id"], "FR", 200, sleep=first_runner_dies)

    assert waits == [import_jobs.WAIT_SECONDS, 0]  # one wait, then the batch it ran
    assert contacts.as_user(BOB).get_import(job["id"])["rows_created"] == 1


def test_a_finished_job_is_not_run_again(contacts):
    job = imported(contacts, BOB, _csv("Nom", "Dupont"))

    run_queued(contacts, job["id"])

    assert contacts.count(Contact) == 1
    assert len(contacts.events("import_finished")) == 1


def test_the_same_job_id_with_the_same_file_is_queued_once(contacts):
    bob = contacts.as_user(BOB)
    job_id = "01a0c0de-0000-7000-8000-000000000001"
    first = upload(bob, _csv("Nom", "Dupont"), id=job_id)

    replay = upload(bob, _csv("Nom", "Dupont"), id=job_id)

    assert (first["created"], replay["created"], replay["id"]) == (True, False, job_id)
    assert len(contacts.events("import_queued")) == 1
    with pytest.raises(IdAlreadyUsed):
        upload(bob, _csv("Nom", "Martin"), id=job_id)


def test_a_real_import_sent_with_its_dry_runs_id_is_refused_not_answered_with_the_dry_run(contacts):
    bob = contacts.as_user(BOB)
    job_id = "01a0c0de-0000-7000-8000-000000000002"
    upload(bob, _csv("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True)

    with pytest.raises(IdAlreadyUsed) as refused:
        upload(bob, _csv("Nom;Prénom", "Dupont;Jeanne"), id=job_id)
    assert (
        refused.value.errors[0]["message"] == "already used by an import of the same file with other options"
    )
    with pytest.raises(IdAlreadyUsed):
        upload(bob, _csv("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True, mapping={"Prénom": None})
    assert upload(bob, _csv("Nom;Prénom", "Dupont;Jeanne"), id=job_id, dry_run=True)["created"] is False


def test_another_organisation_does_not_see_an_import(contacts):
    job = imported(contacts, BOB, _csv("Nom", "Dupont"))
    diane = contacts.as_user(DIANE)

    with pytest.raises(ImportJobNotFound):
        diane.get_import(job["id"])
    with pytest.raises(ImportJobNotFound):
        diane.list_import_errors(job["id"])
    assert diane.list_imports()["items"] == []
    assert diane.search_contacts()["items"] == []


def test_imports_are_listed_latest_first_a_page_at_a_time(contacts):
    ids = [imported(contacts, BOB, _csv("Nom", name))["id"] for name in ("Dupont", "Martin", "Durand")]
    bob = contacts.as_user(BOB)

    first = bob.list_imports(limit=2)
    rest = bob.list_imports(limit=2, cursor=first["next_cursor"])

    assert [job["id"] for job in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


def test_the_error_report_is_csv_with_row_line_column_and_reason(contacts):
    text = _csv("Nom;Note;Email", 'Dupont;"deux\nlignes";jeanne@@exemple.fr', "Martin;;zoe@exemple.fr")
    job = imported(contacts, BOB, text)

    report = contacts.as_user(BOB).export_import_errors_csv(job["id"])

    rows = list(csv.reader(io.StringIO(report["csv"], newline=""), delimiter=";"))
    assert rows[0] == ["row", "line", "column", "field", "value", "reason"]
    assert rows[1][:5] == ["2", "2", "Email", "email", "jeanne@@exemple.fr"]
    assert report["next_cursor"] is None


def test_the_errors_of_an_import_are_paged_in_file_order(contacts):
    text = _csv("Nom;Email", *[f"Client {n};mauvais-{n}" for n in range(5)])
    job = imported(contacts, BOB, text)
    bob = contacts.as_user(BOB)

    first = bob.list_import_errors(job["id"], limit=3)
    rest = bob.list_import_errors(job["id"], limit=3, cursor=first["next_cursor"])

    assert [e["row"] for e in first["items"] + rest["items"]] == [2, 3, 4, 5, 6]
    with pytest.raises(InvalidInput):
        bob.list_import_errors(job["id"], cursor="pas-un-curseur")


def test_an_employment_is_written_for_each_company_of_a_contact(contacts):
    text = _csv(
        "Email;Nom;Société", "zoe@exemple.fr;Martin;Pomme Magasin", "zoe@exemple.fr;Martin;Cabinet Dupuis"
    )

    imported(contacts, BOB, text)

    assert contacts.count(Employment) == 2
    zoe = by_last_name(contacts, BOB)["Martin"]
    assert sorted(c["name"] for c in zoe["current_companies"]) == ["Cabinet Dupuis", "Pomme Magasin"]


def test_a_row_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_written(contacts, monkeypatch):
    contacts.as_user(BOB).create_contact({"last_name": "Déjà", "email": "zoe@exemple.fr"})
    load = csv_import._BatchWriter._load_contacts

    def blind_to_zoe(writer, plans):  # as if zoe@ had been added after the batch looked
        load(writer, plans)
        writer.by_email.pop("zoe@exemple.fr", None)

    monkeypatch.setattr(csv_import._BatchWriter, "_load_contacts", blind_to_zoe)
    text = _csv(
        "Email;Nom;Société",
        "jeanne@exemple.fr;Dupont;Pomme Magasin",
        "zoe@exemple.fr;Martin;Cabinet Dupuis",
        "paul@exemple.fr;Durand;Cabinet Dupuis",
    )

    job = imported(contacts, BOB, text)

    assert (job["rows_created"], job["rows_failed"], job["companies_created"]) == (2, 1, 2)
    assert errors(contacts, BOB, job["id"]) == [
        (3, None, "the e-mail address already belongs to another contact (added while the import ran)")
    ]
    assert sorted(by_last_name(contacts, BOB)) == ["Dupont", "Durand", "Déjà"]
    assert len(contacts.events("contact_created")) == 3
    assert len(contacts.events("company_created")) == 2


def test_an_unexpected_failure_fails_the_job_and_says_so(contacts, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(import_jobs, "write_batch", broken)

    job = imported(contacts, BOB, _csv("Nom", "Dupont"))

    assert (job["status"], job["error"]) == (
        "failed",
        "the import stopped on an unexpected error; it has been logged",
    )
    assert contacts.events("import_finished")[0]["record"]["status"] == "failed"
    with contacts.db.read() as session:
        assert session.get(ImportJob, job["id"]).content is None


def test_a_file_with_only_its_header_finishes_at_once(contacts):
    job = imported(contacts, BOB, _csv("Nom;Prénom;Email"))

    assert (job["status"], job["total_rows"], job["rows_done"]) == ("done", 0, 0)
