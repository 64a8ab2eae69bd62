"""``crm contacts import``: the upload, the progress it follows and what it reports, against a fake API."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from cli import contacts as contacts_cli
from cli.main import main

CSV_TEXT = "Nom;Prénom;Email\r\nLefèvre;François;francois@exemple.fr\r\nMartin;Zoé;zoe@@exemple.fr\r\n"


def _job(**fields: Any) -> dict[str, Any]:
    return {
        "id": "job-1",
        "file_name": "clients.csv",
        "status": "queued",
        "dry_run": False,
        "encoding": "utf-8",
        "delimiter": ";",
        "columns": [{"column": "Nom", "field": "last_name"}, {"column": "Code client", "field": None}],
        "total_rows": None,
        "rows_done": 0,
        "rows_created": 0,
        "rows_updated": 0,
        "rows_unchanged": 0,
        "rows_failed": 0,
        "companies_created": 0,
        "error": None,
        **fields,
    }


class FakeResponse:
    def __init__(self, status_code: int, body: Any = None, content: bytes = b""):
        self.status_code = status_code
        self._body = body
        self.content = content
        self.text = str(body)

    def json(self) -> Any:
        return self._body


class FakeApi:
    """Answers the import calls as the gateway would, job state after job state."""

    def __init__(self, states: list[dict], upload: list[FakeResponse] | None = None):
        self.headers: dict[str, str] = {}
        self.states = states
        self.uploads = upload or [FakeResponse(202, states[0])]
        self.posted: list[dict] = []
        self.got: list[str] = []

    def post(self, url: str, json: dict, timeout: float) -> FakeResponse:
        self.posted.append({"url": url, **json})
        return self.uploads.pop(0)

    def get(self, url: str, params: dict | None = None, timeout: float = 0) -> FakeResponse:
        self.got.append(url)
        if url.endswith("/errors.csv"):
            return FakeResponse(200, content="\ufeffrow;reason\r\n3;not a valid e-mail address\r\n".encode())
        if url.endswith("/errors"):
            error = {"row": 3, "column": "Email", "reason": "not a valid e-mail address"}
            return FakeResponse(200, {"items": [error], "next_cursor": None})
        return FakeResponse(200, self.states.pop(0) if len(self.states) > 1 else self.states[0])


@pytest.fixture
def clients_csv(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(CSV_TEXT.encode("cp1252"))
    return path


def _run(monkeypatch, api: FakeApi, *args: str, env: dict | None = None):
    monkeypatch.setattr(contacts_cli.requests, "Session", lambda: api)
    monkeypatch.setattr(contacts_cli.time, "sleep", lambda seconds: None)
    return CliRunner().invoke(main, ["contacts", "import", *args], env=env, catch_exceptions=False)


def test_the_file_is_uploaded_and_followed_to_the_end_with_a_progress_bar(monkeypatch, clients_csv):
    api = FakeApi(
        [
            _job(),
            _job(status="running", total_rows=2, rows_done=1),
            _job(status="done", total_rows=2, rows_done=2, rows_created=2, companies_created=1),
        ]
    )

    result = _run(monkeypatch, api, str(clients_csv), "--api", "http://crm.test/", "--token", "crm_secret")

    assert result.exit_code == 0, result.output
    (sent,) = api.posted
    assert sent["url"] == "http://crm.test/api/v1/imports"
    assert base64.b64decode(sent["content_base64"]) == CSV_TEXT.encode("cp1252")
    assert (sent["file_name"], sent["dry_run"]) == ("clients.csv", False)
    assert uuid.UUID(sent["id"])
    assert api.headers["Authorization"] == "Bearer crm_secret"
    assert "Columns ignored: Code client" in result.output
    assert "Importing" in result.output
    assert (
        "clients.csv: of 2 rows, 2 created, 0 updated, 0 unchanged, 0 refused; companies created: 1"
        in result.output
    )


def test_refused_rows_are_shown_and_their_report_saved_beside_the_file(monkeypatch, clients_csv):
    api = FakeApi([_job(status="done", total_rows=2, rows_done=2, rows_created=1, rows_failed=1)])

    result = _run(monkeypatch, api, str(clients_csv), "--api", "http://crm.test", "--token", "crm_secret")

    assert result.exit_code == contacts_cli.ROWS_REFUSED
    assert "row 3, column Email: not a valid e-mail address" in result.output
    report = clients_csv.with_name("clients-errors.csv")
    assert report.read_bytes().startswith(b"\xef\xbb\xbfrow;reason")


def test_a_refused_file_prints_the_problem_and_each_field(monkeypatch, clients_csv):
    problem = {
        "title": "Invalid input",
        "detail": "columns: no column for a name or an e-mail",
        "errors": [{"field": "columns", "message": "no column for a name or an e-mail"}],
    }
    api = FakeApi([_job()], upload=[FakeResponse(422, problem)])

    result = _run(monkeypatch, api, str(clients_csv), "--api", "http://crm.test", "--token", "crm_secret")

    assert result.exit_code == 1
    assert "422 Invalid input" in result.output
    assert "columns: no column for a name or an e-mail" in result.output


def test_mapping_delimiter_and_dry_run_are_sent_and_the_credentials_read_from_the_environment(
    monkeypatch, clients_csv
):
    api = FakeApi([_job(status="done", dry_run=True, total_rows=2, rows_done=2, rows_created=2)])

    result = _run(
        monkeypatch,
        api,
        str(clients_csv),
        "--map",
        "Raison sociale=company",
        "--map",
        "Code client=",
        "--delimiter",
        "tab",
        "--dry-run",
        env={"CRM_API_URL": "http://crm.test", "CRM_API_TOKEN": "crm_env"},
    )

    assert result.exit_code == 0, result.output
    (sent,) = api.posted
    assert sent["mapping"] == {"Raison sociale": "company", "Code client": None}
    assert (sent["delimiter"], sent["dry_run"]) == ("\t", True)
    assert api.headers["Authorization"] == "Bearer crm_env"
    assert "dry run, nothing written" in result.output


def test_a_busy_service_is_retried_with_the_same_job_id(monkeypatch, clients_csv):
    done = _job(status="done", total_rows=2, rows_done=2, rows_created=2)
    api = FakeApi(
        [done], upload=[FakeResponse(503, {"title": "Service unavailable"}), FakeResponse(202, done)]
    )

    result = _run(monkeypatch, api, str(clients_csv), "--api", "http://crm.test", "--token", "crm_secret")

    assert result.exit_code == 0, result.output
    assert len(api.posted) == 2 and api.posted[0]["id"] == api.posted[1]["id"]


def test_a_failed_job_says_why(monkeypatch, clients_csv):
    api = FakeApi([_job(status="failed", total_rows=2, error="the import stopped on an unexpected error")])

    result = _run(monkeypatch, api, str(clients_csv), "--api", "http://crm.test", "--token", "crm_secret")

    assert result.exit_code == 1
    assert "the import failed: the import stopped on an unexpected error" in result.output
