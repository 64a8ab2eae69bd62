"""Uploading CSV files to contacts workers and running their imports, as the service would."""

from __future__ import annotations

import base64
from typing import Any

from tests.people import Person

HEADER = (
    "Nom;Prénom;Email;Téléphone;Portable;Adresse;Code postal;Ville;Pays;"
    "Société;Groupe;Fonction;Email professionnel;Téléphone professionnel;Centres d'intérêt"
)
FRANCOIS_ROW = (
    "Lefèvre;François;francois.lefevre@exemple.fr;01 45 67 89 10;06 12 34 56 78;3 place du Marché;69001;"
    "Lyon;France;Pomme Siège Central;Pomme;Directeur financier;f.lefevre@pomme.fr;01 42 68 53 00;"
    '"Comptable, Libre"'
)


def csv_text(*lines: str) -> str:
    """A CSV file of ``lines``, each ended as spreadsheets end them."""
    return "\r\n".join(lines) + "\r\n"


def upload(worker: Any, content: str | bytes, file_name: str = "contacts.csv", **options: Any) -> dict:
    """``start_import`` with ``content`` (text is sent as UTF-8)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return worker.start_import(
        {"file_name": file_name, "content_base64": base64.b64encode(data).decode(), **options}
    )


def run_queued(contacts: Any, job_id: str) -> None:
    """Hand the job's ``import_queued`` event to the service's handler, as the bus would."""
    (event,) = [e for e in contacts.events("import_queued") if e["record"]["id"] == job_id]
    contacts.worker().run_import(event)


def imported(contacts: Any, person: Person, content: str | bytes, **options: Any) -> dict:
    """Upload, run to the end, and return the finished job as ``person`` sees it."""
    job = upload(contacts.as_user(person), content, **options)
    run_queued(contacts, job["id"])
    return contacts.as_user(person).get_import(job["id"])


def errors(contacts: Any, person: Person, job_id: str) -> list[tuple[int, str | None, str]]:
    """(row, column, reason) of every refused row."""
    page = contacts.as_user(person).list_import_errors(job_id, limit=200)
    return [(error["row"], error["column"], error["reason"]) for error in page["items"]]


def batches_of(contacts: Any, size: int) -> None:
    """Import ``size`` rows per transaction from now on, in this test only."""
    section = contacts.settings.contacts.model_copy(update={"import_batch_size": size})
    contacts.settings = contacts.settings.model_copy(update={"contacts": section})


def by_last_name(contacts: Any, person: Person) -> dict[str, dict]:
    page = contacts.as_user(person).search_contacts(limit=200)
    return {contact["last_name"]: contact for contact in page["items"]}
