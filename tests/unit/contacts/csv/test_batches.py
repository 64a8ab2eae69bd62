"""Writing checked rows: update or create, companies and interests, events, dry runs, refusals."""

from __future__ import annotations

from services.contacts.csv import batches
from services.contacts.models import Contact, Employment
from tests.people import BOB, JEANNE, SIEGE
from tests.unit.contacts.csv.imports import (
    FRANCOIS_ROW,
    HEADER,
    batches_of,
    by_last_name,
    csv_text,
    errors,
    imported,
)


def _records_footprint(contacts) -> dict[str, int]:
    """Rows of the contacts' own tables (the outbox aside: imports announce themselves)."""
    return {table: rows for table, rows in contacts.footprint().items() if table != "outbox"}


# -- update or create ----------------------------------------------------------------


def test_a_contact_is_updated_by_email_and_empty_cells_clear_nothing(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    text = csv_text(
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
    text = csv_text(HEADER, FRANCOIS_ROW, "Martin;Zoé;zoe@exemple.fr;;;;;;;Cabinet Dupuis;;Gérante;;;Libre")
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
        contacts,
        BOB,
        csv_text("Nom;Email;Société;Fonction", "Dupont;jeanne@exemple.fr;Pomme Magasin;Vendeuse"),
    )

    job = imported(
        contacts,
        BOB,
        csv_text("Nom;Email;Société;Fonction", "Dupont;jeanne@exemple.fr;POMME MAGASIN;Gérante"),
    )

    assert job["rows_updated"] == 1
    contact = contacts.as_user(BOB).get_contact(by_last_name(contacts, BOB)["Dupont"]["id"])
    assert [(e["company"]["name"], e["function"], e["version"]) for e in contact["employments"]] == [
        ("Pomme Magasin", "Gérante", 2)
    ]


def test_a_row_without_personal_email_finds_its_contact_by_work_email(contacts):
    text = csv_text(
        "Nom;Société;Email professionnel;Fonction", "Durand;Cabinet Dupuis;p.durand@dupuis.fr;Associé"
    )
    imported(contacts, BOB, text)

    job = imported(contacts, BOB, text.replace("Associé", "Associé gérant"))

    assert (job["rows_created"], job["rows_updated"]) == (0, 1)
    assert contacts.count(Contact) == 1
    assert by_last_name(contacts, BOB)["Durand"]["current_companies"][0]["function"] == "Associé gérant"


def test_the_same_email_twice_in_a_file_creates_then_updates(contacts):
    text = csv_text("Email;Nom;Ville", "zoe@exemple.fr;Martin;Paris", "ZOE@exemple.fr;Martin;Lyon")

    job = imported(contacts, BOB, text)

    assert (job["rows_created"], job["rows_updated"]) == (1, 1)
    zoe = by_last_name(contacts, BOB)["Martin"]
    assert (zoe["address"]["city"], zoe["version"]) == ("Lyon", 2)


def test_companies_are_reused_by_name_whatever_the_case_and_accents_and_created_once(contacts):
    siege = contacts.as_user(BOB).create_company(SIEGE)
    batches_of(contacts, 2)
    text = csv_text(
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

    job = imported(contacts, BOB, csv_text("Nom;Intérêts", "Dupont;comptable | Libre"))

    assert job["interests_created"] == 1
    assert comptable["id"] in by_last_name(contacts, BOB)["Dupont"]["interests"]


# -- dry run -------------------------------------------------------------------------


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(contacts):
    contacts.as_user(BOB).create_contact(JEANNE)
    batches_of(contacts, 2)
    before, events_before = _records_footprint(contacts), len(contacts.events())
    text = csv_text(
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


def test_events_announce_the_import_and_each_record(contacts):
    job = imported(contacts, BOB, csv_text("Nom;Société", "Dupont;Pomme Magasin"))

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


def test_an_employment_is_written_for_each_company_of_a_contact(contacts):
    text = csv_text(
        "Email;Nom;Société", "zoe@exemple.fr;Martin;Pomme Magasin", "zoe@exemple.fr;Martin;Cabinet Dupuis"
    )

    imported(contacts, BOB, text)

    assert contacts.count(Employment) == 2
    zoe = by_last_name(contacts, BOB)["Martin"]
    assert sorted(c["name"] for c in zoe["current_companies"]) == ["Cabinet Dupuis", "Pomme Magasin"]


def test_a_row_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_written(contacts, monkeypatch):
    contacts.as_user(BOB).create_contact({"last_name": "Déjà", "email": "zoe@exemple.fr"})
    load = batches._BatchWriter._load_contacts

    def blind_to_zoe(writer, plans):  # as if zoe@ had been added after the batch looked
        load(writer, plans)
        writer.by_email.pop("zoe@exemple.fr", None)

    monkeypatch.setattr(batches._BatchWriter, "_load_contacts", blind_to_zoe)
    text = csv_text(
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
