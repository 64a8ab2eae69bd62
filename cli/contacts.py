"""``crm contacts import FILE``: send a CSV file to the gateway and follow its import.

A client of the HTTP API like any other: it needs the gateway's address
(``--api`` or ``CRM_API_URL``, else the configured gateway) and a token
(``--token`` or ``CRM_API_TOKEN``: an API token ``crm_...`` or an access token).
"""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path
from typing import Any

import click
import requests

UPLOAD_ATTEMPTS = 3
ERRORS_SHOWN = 5
# Exit status when the import ran but refused some rows (their reasons are in the error report).
ROWS_REFUSED = 3


class ApiError(click.ClickException):
    """The API answered with a problem: its detail, then each field error."""

    def __init__(self, response: requests.Response):
        try:
            problem = response.json()
            lines = [f"{response.status_code} {problem.get('title', '')}: {problem.get('detail', '')}"]
            lines += [f"  {error['field']}: {error['message']}" for error in problem.get("errors", [])]
        except ValueError:
            lines = [f"{response.status_code}: {response.text[:500]}"]
        super().__init__("\n".join(lines))


def _default_api_url(config: str | None) -> str:
    from crm.settings import SettingsError, load_settings

    try:
        gateway = load_settings(config).gateway
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    return gateway.public_url or f"http://{gateway.host}:{gateway.port}"


def _mapping(pairs: tuple[str, ...]) -> dict[str, str | None] | None:
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        header, equals, field = pair.rpartition("=")
        if not equals or not header:
            raise click.BadParameter(f"{pair!r} is not HEADER=FIELD", param_hint="--map")
        mapping[header] = field.strip() or None
    return mapping or None


class ImportClient:
    """The few calls an import needs, with the token on each."""

    def __init__(self, api_url: str, token: str, http: requests.Session | None = None):
        self.base = api_url.rstrip("/") + "/api/v1"
        self.http = http or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _checked(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            raise ApiError(response)
        return response

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        """Upload; a lost connection or a busy service is retried with the same job id."""
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                response = self.http.post(f"{self.base}/imports", json=body, timeout=120)
            except requests.ConnectionError as exc:
                if attempt == UPLOAD_ATTEMPTS:
                    raise click.ClickException(f"cannot reach the API at {self.base}: {exc}") from None
            else:
                if response.status_code != 503 or attempt == UPLOAD_ATTEMPTS:
                    return self._checked(response).json()
            time.sleep(attempt)
        raise AssertionError("unreachable")

    def job(self, job_id: str) -> dict[str, Any]:
        return self._checked(self.http.get(f"{self.base}/imports/{job_id}", timeout=30)).json()

    def first_errors(self, job_id: str) -> list[dict[str, Any]]:
        url = f"{self.base}/imports/{job_id}/errors"
        return self._checked(self.http.get(url, params={"limit": ERRORS_SHOWN}, timeout=30)).json()["items"]

    def errors_csv(self, job_id: str) -> bytes:
        return self._checked(self.http.get(f"{self.base}/imports/{job_id}/errors.csv", timeout=120)).content


def _follow(client: ImportClient, job: dict[str, Any], poll_interval: float) -> dict[str, Any]:
    """Poll the job until it ends, with a progress bar once its rows are counted."""
    while job["status"] in ("queued", "running") and job["total_rows"] is None:
        time.sleep(poll_interval)
        job = client.job(job["id"])
    label = "Checking" if job["dry_run"] else "Importing"
    with click.progressbar(length=job["total_rows"] or 0, label=label, show_pos=True, show_eta=True) as bar:
        shown = 0
        while True:
            bar.update(job["rows_done"] - shown)
            shown = job["rows_done"]
            if job["status"] not in ("queued", "running"):
                return job
            time.sleep(poll_interval)
            job = client.job(job["id"])


def _summary(job: dict[str, Any]) -> str:
    counts = (
        job["rows_done"],
        job["rows_created"],
        job["rows_updated"],
        job["rows_unchanged"],
        job["rows_failed"],
        job["companies_created"],
    )
    if job["dry_run"]:
        return (
            "{} (dry run, nothing written): of {} rows, {} would be created, {} updated, {} unchanged, "
            "{} refused; companies to create: {}".format(job["file_name"], *counts)
        )
    return "{}: of {} rows, {} created, {} updated, {} unchanged, {} refused; companies created: {}".format(
        job["file_name"], *counts
    )


@click.group("contacts")
def contacts() -> None:
    """Contacts, through the HTTP API."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--api", "api_url", envvar="CRM_API_URL", help="Gateway address (default: the configured one).")
@click.option("--token", envvar="CRM_API_TOKEN", required=True, help="API token (crm_...) or access token.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Feed a column to a field (last_name, email, company...); HEADER= ignores the column.",
)
@click.option("--encoding", default=None, help="The file's encoding (detected when not given).")
@click.option(
    "--delimiter", type=click.Choice([";", ",", "tab"]), default=None, help="Detected when not given."
)
@click.option(
    "--errors-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to save the report of refused rows (default: FILE-errors.csv beside FILE).",
)
@click.option(
    "--poll-interval", type=float, default=0.5, show_default=True, help="Seconds between progress checks."
)
@click.pass_obj
def import_file(
    config: str | None,
    file: Path,
    api_url: str | None,
    token: str,
    dry_run: bool,
    mappings: tuple[str, ...],
    encoding: str | None,
    delimiter: str | None,
    errors_file: Path | None,
    poll_interval: float,
) -> None:
    """Import contacts from a CSV FILE and show the progress.

    Exits 0 when every row was imported, 3 when some were refused (the report
    is saved), 1 when the file or the job failed.
    """
    client = ImportClient(api_url or _default_api_url(config), token)
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "file_name": file.name,
        "content_base64": base64.b64encode(file.read_bytes()).decode(),
        "dry_run": dry_run,
    }
    mapping = _mapping(mappings)
    if mapping:
        body["mapping"] = mapping
    if encoding:
        body["encoding"] = encoding
    if delimiter:
        body["delimiter"] = "\t" if delimiter == "tab" else delimiter
    job = client.start(body)
    click.echo(
        f"Import {job['id']} queued: {file.name} read as {job['encoding']}, delimiter {job['delimiter']!r}"
    )
    ignored = [column["column"] for column in job["columns"] if column["field"] is None]
    if ignored:
        click.echo(f"Columns ignored: {', '.join(ignored)}")
    job = _follow(client, job, poll_interval)
    if job["status"] == "failed":
        raise click.ClickException(f"the import failed: {job['error']}")
    click.echo(_summary(job))
    if job["rows_failed"]:
        for error in client.first_errors(job["id"]):
            column = f", column {error['column']}" if error["column"] else ""
            click.echo(f"  row {error['row']}{column}: {error['reason']}", err=True)
        target = errors_file or file.with_name(f"{file.stem}-errors.csv")
        target.write_bytes(client.errors_csv(job["id"]))
        click.echo(f"Refused rows and their reasons: {target}", err=True)
        raise SystemExit(ROWS_REFUSED)
