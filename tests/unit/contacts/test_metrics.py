"""contacts' business figures after real CSV imports: imports by status, rows imported and failed."""

from __future__ import annotations

from services.contacts import metrics
from services.contacts.csv import runner
from tests.figures import samples, scrape
from tests.people import BOB
from tests.unit.contacts.csv.imports import csv_text, imported, upload


def test_an_import_with_a_bad_row_counts_its_rows_imported_and_failed(contacts):
    imported(
        contacts,
        BOB,
        csv_text(
            "Email;Nom;Prénom",
            "jeanne.dupont@exemple.fr;Dupont;Jeanne",
            "paul@exemple.fr;Durand;Paul",
            "pas-une-adresse;Petit;Louis",
        ),
    )
    upload(contacts.as_user(BOB), csv_text("Nom", "Martin"))  # waits for its runner

    figures = scrape(metrics, contacts.engine)

    assert samples(figures, "crm_imports_total") == {
        ("queued",): 1,
        ("running",): 0,
        ("done",): 1,
        ("failed",): 0,
    }
    assert samples(figures, "crm_import_rows_total") == {("imported",): 2, ("failed",): 1}


def test_an_import_that_stopped_counts_as_failed_and_a_dry_run_not_at_all(contacts, monkeypatch):
    imported(contacts, BOB, csv_text("Nom", "Dupont", "Martin", "pas;assez;de;colonnes;ici"), dry_run=True)
    monkeypatch.setattr(runner, "write_batch", _broken)
    imported(contacts, BOB, csv_text("Nom", "Dupont"))

    figures = scrape(metrics, contacts.engine)

    assert samples(figures, "crm_imports_total")[("failed",)] == 1
    assert samples(figures, "crm_imports_total")[("done",)] == 0
    assert samples(figures, "crm_import_rows_total") == {("imported",): 0, ("failed",): 0}


def _broken(*args, **kwargs):
    raise RuntimeError("disque plein")
