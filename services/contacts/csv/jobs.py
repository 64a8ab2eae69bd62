"""Import jobs: a CSV file stored with how to read it, and the jobs and their row errors as
callers see them.

``start`` checks at once what concerns the whole file (size, encoding,
delimiter, header, mapping), stores the job with its file and announces
``import_queued``; the service's handler for that event runs it
(``services.contacts.csv.runner``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import zlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import id_already_used, record_of
from crm.times import iso, utcnow
from services.contacts.csv import format as csv_format
from services.contacts.csv.headers import resolve_columns
from services.contacts.csv.presets import preset_for
from services.contacts.csv.schemas import ImportStart
from services.contacts.exceptions import ImportJobNotFound
from services.contacts.models import ImportJob, ImportRowError
from services.contacts.pages import Keyset, SortColumn

ERRORS_CSV_PAGE = 5000
ERRORS_CSV_HEADER = ["row", "line", "column", "field", "value", "reason"]
_JOBS_KEYSET = Keyset(
    "imports", "created_at", "desc", SortColumn(ImportJob.created_at, "datetime"), ImportJob.id
)


def _file_bytes(request: ImportStart, max_bytes: int) -> bytes:
    try:
        raw = base64.b64decode(request.content_base64)
    except (binascii.Error, ValueError):
        raise invalid("content_base64", "not valid base64") from None
    too_large = invalid("content_base64", f"the file is over {max_bytes} bytes (contacts.import_max_bytes)")
    if request.compression == "zlib":
        inflater = zlib.decompressobj()
        try:
            content = inflater.decompress(raw, max_bytes + 1)
        except zlib.error:
            raise invalid("content_base64", "not valid zlib data") from None
        if inflater.unconsumed_tail:
            raise too_large
    else:
        content = raw
    if len(content) > max_bytes:
        raise too_large
    if not content.strip():
        raise invalid("content_base64", "the file is empty")
    return content


def _header(content: bytes, encoding: str, delimiter: str) -> list[str]:
    skipped = csv_format.preamble_records(csv_format.read_records(content, encoding, delimiter), delimiter)
    records = csv_format.read_records(content, encoding, delimiter)
    first = next(itertools.islice(records, skipped, None), None)
    if first is None:
        raise invalid("content_base64", "the file has no header row")
    if first.problem is not None:
        column = f", column {first.problem_column + 1}" if first.problem_column is not None else ""
        raise invalid("content_base64", f"row 1 (the header){column}: {first.problem}")
    bad = first.bad_bytes_column()
    if bad is not None:
        raise invalid(
            "content_base64",
            f"row 1 (the header), column {bad + 1}: not {encoding} text; save the file as CSV UTF-8",
        )
    if first.row != 1 and not skipped:
        raise invalid("content_base64", "row 1 (the header) is empty; the first row must name the columns")
    headers = [cell.strip() for cell in first.cells]
    headers[0] = headers[0].lstrip("\ufeff")
    return headers


def _same_options(job: ImportJob, request: ImportStart) -> bool:
    """A retry, not another import: a dry run is not the real one, and options given must match."""
    return (
        job.dry_run == request.dry_run
        # "utf-16" named on a file without a byte order mark is kept as utf-16-le or utf-16-be.
        and request.encoding in (None, job.encoding, job.encoding[:6])
        and request.delimiter in (None, job.delimiter)
        and all(dict(job.columns).get(header) == field for header, field in (request.mapping or {}).items())
    )


def start(
    uow: UnitOfWork, caller: Caller, request: ImportStart, max_bytes: int
) -> tuple[dict[str, Any], bool]:
    """Check the file as a whole and queue its import; returns (the job, created?).

    The same ``id`` with the same file and options returns the existing job.
    """
    content = _file_bytes(request, max_bytes)
    digest = hashlib.sha256(content).hexdigest()
    if request.id is not None:
        existing = uow.session.get(ImportJob, request.id)
        if existing is not None:
            same_file = existing.org_id == caller.org_id and (
                existing.content_sha256,
                existing.file_name,
            ) == (
                digest,
                request.file_name,
            )
            if same_file and _same_options(existing, request):
                return job_out(existing), False
            raise id_already_used(
                request.id,
                message="already used by an import of the same file with other options"
                if same_file
                else "already used by an import of another file",
                what="import",
            )
    encoding = csv_format.reading_encoding(content, request.encoding)
    delimiter = request.delimiter or csv_format.detect_delimiter(
        csv_format.first_record_text(content, encoding)
    )
    columns = resolve_columns(_header(content, encoding, delimiter), request.mapping)
    now = utcnow()
    job = ImportJob(
        id=request.id or new_id(),
        org_id=caller.org_id,
        created_by=caller.user_id,
        file_name=request.file_name,
        content_sha256=digest,
        content=zlib.compress(content, 1),
        status="queued",
        dry_run=request.dry_run,
        encoding=encoding,
        delimiter=delimiter,
        columns=[[column.header, column.field] for column in columns],
        total_rows=None,
        rows_done=0,
        rows_created=0,
        rows_updated=0,
        rows_unchanged=0,
        rows_failed=0,
        companies_created=0,
        interests_created=0,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(job)
    uow.session.flush()
    record = job_out(job)
    uow.emit("import_queued", org_id=job.org_id, actor_id=caller.user_id, record=record)
    return record, True


# -- reading jobs and their errors --------------------------------------------------


def job_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "org_id": job.org_id,
        "created_by": job.created_by,
        "file_name": job.file_name,
        "status": job.status,
        "dry_run": job.dry_run,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "preset": preset_for([header for header, _ in job.columns]),
        "columns": [{"column": header, "field": field} for header, field in job.columns],
        "total_rows": job.total_rows,
        "rows_done": job.rows_done,
        "rows_created": job.rows_created,
        "rows_updated": job.rows_updated,
        "rows_unchanged": job.rows_unchanged,
        "rows_failed": job.rows_failed,
        "companies_created": job.companies_created,
        "interests_created": job.interests_created,
        "error": job.error,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def job_of(session: Session, org_id: str, job_id: str) -> ImportJob:
    """A job of ``org_id``; another organisation's is not found."""
    return record_of(session, ImportJob, org_id, job_id, ImportJobNotFound, "import")


def list_jobs(session: Session, caller: Caller, limit: int, cursor: str | None) -> dict[str, Any]:
    """The organisation's imports, latest first."""
    query = select(ImportJob).where(ImportJob.org_id == caller.org_id)
    rows = list(session.scalars(_JOBS_KEYSET.select_page(query, limit, cursor)))
    served, next_cursor = _JOBS_KEYSET.page(rows, limit)
    return {"items": [job_out(job) for job in served], "next_cursor": next_cursor}


def _error_out(error: ImportRowError) -> dict[str, Any]:
    return {
        "row": error.row,
        "line": error.line,
        "column": error.column,
        "field": error.field,
        "value": error.value,
        "reason": error.reason,
    }


def _errors_cursor(job_id: str, last_id: int) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(["import-errors", job_id, last_id]).encode()).decode().rstrip("=")
    )


def _after_error(job_id: str, cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        kind, for_job, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind != "import-errors" or for_job != job_id or not isinstance(last_id, int):
            raise ValueError("cursor of another list")
        return last_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", "not a cursor this list returned") from None


def _errors_page(
    session: Session, caller: Caller, job_id: str, limit: int, cursor: str | None
) -> tuple[list[ImportRowError], str | None]:
    job = job_of(session, caller.org_id, job_id)
    rows = list(
        session.scalars(
            select(ImportRowError)
            .where(ImportRowError.job_id == job.id, ImportRowError.id > _after_error(job.id, cursor))
            .order_by(ImportRowError.id)
            .limit(limit + 1)
        )
    )
    served = rows[:limit]
    return served, _errors_cursor(job.id, served[-1].id) if len(rows) > limit else None


def list_errors(session: Session, caller: Caller, job_id: str, limit: int, cursor: str | None) -> dict:
    """Why rows were refused, in file order."""
    served, next_cursor = _errors_page(session, caller, job_id, limit, cursor)
    return {"items": [_error_out(error) for error in served], "next_cursor": next_cursor}


def errors_csv(session: Session, caller: Caller, job_id: str, cursor: str | None) -> dict[str, Any]:
    """The error report as CSV for spreadsheets, a slice at a time; the first slice has the header."""
    served, next_cursor = _errors_page(session, caller, job_id, ERRORS_CSV_PAGE, cursor)
    rows = [] if cursor else [ERRORS_CSV_HEADER]
    rows += [
        [str(e.row), str(e.line), e.column or "", e.field or "", e.value or "", e.reason] for e in served
    ]
    return {"csv": csv_format.write_rows(rows), "next_cursor": next_cursor}
