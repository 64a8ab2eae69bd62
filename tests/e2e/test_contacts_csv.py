"""CSV through the gateway: imports as background jobs with progress and error reports,
the CSV export of a contact search, the `crm contacts import` command; with org scoping
and read-only rules."""

from __future__ import annotations

import base64
import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import create_user, unique

V1 = "/api/v1"
BOM = b"\xef\xbb\xbf"
HEADER = "Nom;Prénom;Email;Portable;Société;Groupe;Fonction;Email professionnel;Centres d'intérêt"


def _csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def _upload(api, content: bytes, file_name: str = "clients.csv", **options):
    body = {"file_name": file_name, "content_base64": base64.b64encode(content).decode(), **options}
    return api.post(f"{V1}/imports", json=body)


def _finished(api, response, timeout: float = 60) -> dict:
    """Follow the job at Location until it is done or failed."""
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert location == f"{V1}/imports/{response.json()['id']}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = api.get(location).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish: {job}")


def _import(api, text: str | bytes, **options) -> dict:
    content = text.encode("utf-8") if isinstance(text, str) else text
    return _finished(api, _upload(api, content, **options))


def _contacts(api, q: str) -> dict[str, dict]:
    items = api.get(f"{V1}/contacts", params={"q": q, "limit": 200}).json()["items"]
    return {contact["last_name"]: contact for contact in items}


def _table(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_a_french_csv_file_is_imported_in_the_background_with_progress(org):
    api = org["admin"]
    tag = unique("verger")
    text = _csv(
        HEADER,
        f"Lefèvre;François;francois.{tag}@exemple.fr;06 12 34 56 78;Pomme Siège {tag};Pomme;"
        f'Directeur financier;f.lefevre@pomme.fr;"Comptable, Libre"',
        f'Dupont;Jeanne;jeanne.{tag}@exemple.fr;;Pomme Siège {tag};Pomme;"Cheffe ""adjointe""; achats";;',
    )

    job = _import(api, BOM + text.encode())

    assert (job["status"], job["encoding"], job["delimiter"]) == ("done", "utf-8-sig", ";")
    assert (job["total_rows"], job["rows_done"], job["rows_created"], job["companies_created"]) == (
        2,
        2,
        2,
        1,
    )
    found = _contacts(api, tag)
    francois = api.get(f"{V1}/contacts/{found['Lefèvre']['id']}").json()
    assert francois["first_name"] == "François"
    assert francois["mobile_e164"] == "+33612345678"
    (employment,) = francois["employments"]
    assert (employment["company"]["name"], employment["function"]) == (
        f"Pomme Siège {tag}",
        "Directeur financier",
    )
    assert found["Dupont"]["current_companies"][0]["function"] == 'Cheffe "adjointe"; achats'
    assert [j["id"] for j in api.get(f"{V1}/imports").json()["items"]][0] == job["id"]


def test_a_windows_1252_file_with_commas_keeps_its_accents(org):
    api = org["admin"]
    tag = unique("cafe")
    text = f"Nom,Prénom,Société,Ville\r\nGérard,Zoé,Café l’Atelier {tag},Saint-Étienne\r\n"

    job = _import(api, text.encode("cp1252"))

    assert (job["encoding"], job["delimiter"]) == ("windows-1252", ",")
    zoe = _contacts(api, tag)["Gérard"]
    assert (zoe["first_name"], zoe["address"]["city"]) == ("Zoé", "Saint-Étienne")


def test_bad_rows_are_reported_by_row_and_column_and_downloadable_as_csv(org):
    api = org["admin"]
    tag = unique("erreurs")
    text = _csv(
        "Nom;Prénom;Email;Portable",
        f"Bon;Client;bon.{tag}@exemple.fr;",
        f"Mauvais;Courriel;mauvais.{tag}@@exemple.fr;",
        f"Mauvais;Portable;;pas de numéro {tag}",
        f"Autre;Client;autre.{tag}@exemple.fr;",
    )

    job = _import(api, text)

    assert (job["rows_created"], job["rows_failed"]) == (2, 2)
    reported = api.get(f"{V1}/imports/{job['id']}/errors").json()["items"]
    assert [(error["row"], error["column"]) for error in reported] == [(3, "Email"), (4, "Portable")]
    report = api.get(f"{V1}/imports/{job['id']}/errors.csv")
    rows = _table(report)
    assert rows[0] == ["row", "line", "column", "field", "value", "reason"]
    assert [row[:3] for row in rows[1:]] == [["3", "3", "Email"], ["4", "4", "Portable"]]
    assert 'filename="clients-errors.csv"' in report.headers["Content-Disposition"]
    assert sorted(_contacts(api, tag)) == ["Autre", "Bon"]


def test_a_dry_run_reports_and_writes_nothing(org):
    api = org["admin"]
    tag = unique("essai")
    text = _csv("Nom;Email;Société", f"Essai;essai.{tag}@exemple.fr;Essai {tag}")

    job = _import(api, text, dry_run=True)

    assert (job["dry_run"], job["rows_created"], job["companies_created"]) == (True, 1, 1)
    assert _contacts(api, tag) == {}
    assert api.get(f"{V1}/companies", params={"q": tag}).json()["items"] == []


def test_a_second_import_updates_by_email_and_leaves_the_rest_unchanged(org):
    api = org["admin"]
    tag = unique("maj")
    first = _csv(
        "Email;Nom;Ville", f"zoe.{tag}@exemple.fr;Martin;Paris", f"paul.{tag}@exemple.fr;Durand;Nantes"
    )
    _import(api, first)

    job = _import(api, first.replace("Paris", "Lyon"))

    assert (job["rows_updated"], job["rows_unchanged"], job["rows_created"]) == (1, 1, 0)
    assert _contacts(api, tag)["Martin"]["address"]["city"] == "Lyon"


def test_an_outlook_export_is_recognised_in_the_dry_run_and_imported_again_without_duplicates(org):
    api = org["admin"]
    outlook = (Path(__file__).parents[1] / "fixtures" / "csv" / "outlook_contacts.csv").read_bytes()

    dry = _finished(api, _upload(api, outlook, file_name="contacts.CSV", dry_run=True))
    first = _import(api, outlook)
    again = _import(api, outlook)

    columns = {column["column"]: column["field"] for column in dry["columns"]}
    assert (dry["preset"], dry["encoding"], len(columns)) == ("outlook", "windows-1252", 92)
    assert (columns["Title"], columns["Job Title"], columns["Web Page"]) == (None, "function", "website")
    assert (columns["E-mail 2 Address"], columns["Business Phone"], columns["Business Street"]) == (
        "work_email",
        "work_phone",
        "street",
    )
    assert (first["rows_created"], first["rows_failed"]) == (2, 0)
    assert (again["rows_created"], again["rows_unchanged"]) == (0, 2)
    assert _contacts(api, "Lefèvre")["Lefèvre"]["address"]["city"] == "Lyon"


def test_a_file_the_gateway_alone_would_refuse_as_too_large_goes_through_the_import_route(org):
    api = org["admin"]
    tag = unique("gros")
    note = "Compte rendu de visite très détaillé. " * 250
    text = _csv("Nom;Note", *[f"Client {tag} {n};{note}" for n in range(120)])
    assert len(text.encode()) > 1_048_576  # gateway.max_body_bytes by default

    job = _import(api, text)

    assert (job["status"], job["rows_created"]) == ("done", 120)


def test_a_file_that_cannot_be_imported_is_refused_at_once_naming_what_is_wrong(org):
    api = org["admin"]

    no_name = _upload(api, _csv("Ville;Pays", "Lyon;France").encode())
    binary = _upload(api, b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
    unknown = _upload(api, _csv("Nom", "Dupont").encode(), mapping={"Fax": "phone"})

    assert no_name.status_code == 422 and no_name.json()["errors"][0]["field"] == "columns"
    assert "'Ville', 'Pays'" in no_name.json()["detail"]
    assert binary.status_code == 422 and binary.json()["errors"][0]["field"] == "content_base64"
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "mapping.Fax"


def test_the_contact_export_opens_in_french_excel_and_imports_back_unchanged(org):
    api = org["admin"]
    tag = unique("export")
    _import(
        api,
        _csv(HEADER, f"Lefèvre;François;f.{tag}@exemple.fr;06 12 34 56 78;Œuvres {tag};;Gérant;;Libre"),
    )
    api.post(f"{V1}/contacts", json={"last_name": f"Autre {unique('x')}"})

    response = api.get(f"{V1}/contacts-export.csv", params={"q": tag})

    rows = _table(response)
    assert 'filename="contacts.csv"' in response.headers["Content-Disposition"]
    header, francois = rows
    row = dict(zip(header, francois, strict=True))
    assert (row["Prénom"], row["Société"], row["Fonction"], row["Centres d'intérêt"]) == (
        "François",
        f"Œuvres {tag}",
        "Gérant",
        "Libre",
    )
    english = _table(api.get(f"{V1}/contacts-export.csv", params={"q": tag, "language": "en"}))
    assert english[0][:2] == ["First name", "Last name"]
    again = _import(api, response.content)
    assert (again["rows_unchanged"], again["rows_created"], again["rows_failed"]) == (1, 0, 0)


def test_read_only_user_exports_but_cannot_import(system, org):
    api = org["admin"]
    reader = system.login(create_user(api, read_only=True)["email"])

    refused = _upload(reader, _csv("Nom", "Interdit").encode())

    assert refused.status_code == 403, refused.text
    assert _table(reader.get(f"{V1}/contacts-export.csv"))[0][0] == "Prénom"


def test_another_organisation_sees_neither_the_import_nor_its_contacts(system, org):
    api = org["admin"]
    tag = unique("prive")
    job = _import(api, _csv("Nom;Email", f"Secret;secret.{tag}@exemple.fr"))
    _, other_email = system.bootstrap_org("Verger Voisin")
    other = system.login(other_email)

    assert other.get(f"{V1}/imports/{job['id']}").status_code == 404
    assert other.get(f"{V1}/imports/{job['id']}/errors.csv").status_code == 404
    assert _table(other.get(f"{V1}/contacts-export.csv", params={"q": tag}))[1:] == []


def test_the_cli_imports_a_file_through_the_api_with_a_progress_bar(system, org, tmp_path):
    api = org["admin"]
    tag = unique("cli")
    path = tmp_path / "clients.csv"
    path.write_bytes(_csv("Nom;Prénom;Email", f"Lefèvre;François;f.{tag}@exemple.fr").encode("cp1252"))

    result = subprocess.run(
        [sys.executable, "-m", "cli", "contacts", "import", str(path), "--api", system.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CRM_API_TOKEN": api.token},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "of 1 rows, 1 created" in result.stdout
    assert _contacts(api, tag)["Lefèvre"]["first_name"] == "François"
