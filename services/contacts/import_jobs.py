"""Import jobs: a CSV file stored with how to read it, run in the background with progress.

``start`` checks at once what concerns the whole file (size, encoding,
delimiter, header, mapping), stores the job with its file and announces
``import_queued``; the service's handler for that event calls ``run``.

``run`` takes a lease on the job, counts its rows, announces ``import_started``,
then checks and writes the rows a batch per transaction. A batch's contacts,
its row errors and the job's progress commit together, so a job taken over
after its runner died (its lease no longer renewed) resumes after the last
batch that committed. ``import_finished`` closes the job, done or failed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import eventlet
from eventlet.queue import LightQueue
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork
from crm.errors import field_error, invalid
from crm.ids import new_id
from crm.outbox import utcnow
from services.contacts import csv_format, records
from services.contacts.csv_import import (
    BatchOutcome,
    ImportContext,
    ImportMemory,
    RowChecker,
    RowPlan,
    RowProblem,
    write_batch,
)
from services.contacts.exceptions import IdAlreadyUsed, ImportJobNotFound
from services.contacts.headers import Column, resolve_columns
from services.contacts.import_schemas import ImportStart
from services.contacts.models import ImportJob, ImportRowError
from services.contacts.pages import Keyset, SortColumn

log = logging.getLogger(__name__)

# A runner renews its lease at every batch; one silent for this long has stopped.
LEASE_SECONDS = 60
# How often a second delivery of ``import_queued`` looks whether the first runner is still alive.
WAIT_SECONDS = 5.0
# Rows checked between two chances for the writer to go on.
_CHECK_SLICE = 20
ERRORS_CSV_PAGE = 5000
ERRORS_CSV_HEADER = ["row", "line", "column", "field", "value", "reason"]
_JOBS_KEYSET = Keyset(
    "imports", "created_at", "desc", SortColumn(ImportJob.created_at, "datetime"), ImportJob.id
)


class LeaseLost(Exception):
    """Another runner took the job over: this one stops without writing more."""


# -- starting -----------------------------------------------------------------------


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
    first = next(csv_format.read_records(content, encoding, delimiter), None)
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
    if first.row != 1:
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
            raise IdAlreadyUsed(
                f"id: {request.id} is already used by another import",
                [
                    field_error(
                        "id",
                        "already used by an import of the same file with other options"
                        if same_file
                        else "already used by an import of another file",
                    )
                ],
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


def _iso(moment: Any) -> str | None:
    return records.aware(moment).isoformat() if moment is not None else None


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
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def job_of(session: Session, org_id: str, job_id: str) -> ImportJob:
    """A job of ``org_id``; another organisation's is not found."""
    job = session.get(ImportJob, job_id) if isinstance(job_id, str) else None
    if job is None or job.org_id != org_id:
        raise ImportJobNotFound(f"no import {job_id}")
    return job


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


# -- running ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    """What a runner needs of its job, read when it took the lease."""

    id: str
    org_id: str
    created_by: str
    content: bytes
    encoding: str
    delimiter: str
    columns: list[Column]
    dry_run: bool
    rows_done: int
    total_rows: int | None


def run(
    db: DatabaseAccess,
    job_id: str,
    region: str,
    batch_size: int,
    *,
    lease_seconds: float = LEASE_SECONDS,
    sleep: Callable[[float], Any] = eventlet.sleep,
) -> None:
    """Run the job to its end, unless it has ended or another runner is alive on it.

    While another runner holds a live lease this waits; once it falls silent
    this one takes over and resumes after the rows already done.
    """
    runner_id = new_id()
    while True:
        claimed = _claim(db, job_id, runner_id, lease_seconds)
        if claimed is not False:
            break
        sleep(WAIT_SECONDS)
    if claimed is None:
        return
    try:
        _run_claimed(db, claimed, runner_id, region, batch_size, sleep)
    except LeaseLost:
        log.warning("import %s was taken over by another runner; this one stops", job_id)
    except Exception:
        log.exception("import %s stopped on an unexpected error", job_id)
        _finish(
            db, claimed, runner_id, "failed", "the import stopped on an unexpected error; it has been logged"
        )


def _claim(db: DatabaseAccess, job_id: str, runner_id: str, lease_seconds: float) -> _Claimed | None | bool:
    """The job, now leased to ``runner_id``; None if it has ended, False if another runner is alive."""
    now = utcnow()
    with db.transaction() as uow:
        session = uow.session
        taken = session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                or_(
                    ImportJob.status == "queued",
                    (ImportJob.status == "running")
                    & (ImportJob.heartbeat_at < now - timedelta(seconds=lease_seconds)),
                ),
            )
            .values(status="running", runner_id=runner_id, heartbeat_at=now, updated_at=now)
        ).rowcount
        job = session.get(ImportJob, job_id)
        if job is None or job.status in ("done", "failed"):
            return None
        if not taken:
            return False
        if job.started_at is None:
            job.started_at = now
        return _Claimed(
            id=job.id,
            org_id=job.org_id,
            created_by=job.created_by,
            content=zlib.decompress(job.content),
            encoding=job.encoding,
            delimiter=job.delimiter,
            columns=[Column(index, header, field) for index, (header, field) in enumerate(job.columns)],
            dry_run=job.dry_run,
            rows_done=job.rows_done,
            total_rows=job.total_rows,
        )


def _records(claimed: _Claimed) -> Iterator[csv_format.Record]:
    """The file's rows after its header."""
    found = csv_format.read_records(
        claimed.content, claimed.encoding, claimed.delimiter, len(claimed.columns)
    )
    return itertools.islice(found, 1, None)


def _count_rows(claimed: _Claimed, sleep: Callable[[float], Any]) -> int:
    total = 0
    for total, _ in enumerate(_records(claimed), start=1):
        if total % 5000 == 0:
            sleep(0)
    return total


def _leased(session: Session, claimed: _Claimed, holder: str, **values: Any) -> ImportJob:
    """Change the job if ``holder`` still holds its lease (renewing it), else ``LeaseLost``."""
    now = utcnow()
    done = session.execute(
        update(ImportJob)
        .where(ImportJob.id == claimed.id, ImportJob.runner_id == holder)
        .values(heartbeat_at=now, updated_at=now, **values)
    ).rowcount
    if done != 1:
        raise LeaseLost(claimed.id)
    return session.scalars(
        select(ImportJob).where(ImportJob.id == claimed.id).execution_options(populate_existing=True)
    ).one()


def _run_claimed(
    db: DatabaseAccess,
    claimed: _Claimed,
    runner_id: str,
    region: str,
    batch_size: int,
    sleep: Callable[[float], Any],
) -> None:
    if claimed.total_rows is None:
        total = _count_rows(claimed, sleep)
        with db.transaction() as uow:
            job = _leased(uow.session, claimed, runner_id, total_rows=total)
            uow.emit("import_started", org_id=job.org_id, actor_id=job.created_by, record=job_out(job))
    checker = RowChecker(claimed.columns, region, claimed.encoding)
    with db.read() as session:
        memory = ImportMemory.load(session, claimed.org_id)
    rows = itertools.islice(_records(claimed), claimed.rows_done, None)
    for size, plans, problems in _checked_ahead(rows, checker, batch_size):
        with db.transaction() as uow:
            context = ImportContext(
                org_id=claimed.org_id,
                actor_id=claimed.created_by,
                region=region,
                dry_run=claimed.dry_run,
                header_of=checker.header_of,
                now=utcnow(),
                today=records.today(),
            )
            if claimed.dry_run:
                # Everything a real run would write, then nothing of it: the outcome is what is reported.
                trial, mark = uow.session.begin_nested(), uow.events_mark()
                outcome = write_batch(uow, context, memory, plans)
                trial.rollback()
                uow.drop_events_since(mark)
            else:
                outcome = write_batch(uow, context, memory, plans)
            _record_batch(uow.session, claimed, runner_id, size, problems + outcome.problems, outcome)
        memory.absorb(outcome, claimed.dry_run)
        sleep(0)  # let the service's other workers in between batches
    _finish(db, claimed, runner_id, "done", None)


def _checked_ahead(
    rows: Iterator[csv_format.Record], checker: RowChecker, batch_size: int
) -> Iterator[tuple[int, list[RowPlan], list[RowProblem]]]:
    """Batches of checked rows: (rows read, rows to write, problems).

    Checking is CPU work and writing mostly waits for the database, so the
    next batch is checked while the current one is written: a green thread
    checks up to two batches ahead, yielding every few rows so the writer
    resumes as soon as the database answers.
    """
    ready: LightQueue = LightQueue(maxsize=2)

    def check_all() -> None:
        try:
            while batch := list(itertools.islice(rows, batch_size)):
                plans: list[RowPlan] = []
                problems: list[RowProblem] = []
                for index, record in enumerate(batch, start=1):
                    entry = checker.check(record)
                    if isinstance(entry, RowPlan):
                        plans.append(entry)
                    else:
                        problems += entry
                    if index % _CHECK_SLICE == 0:
                        eventlet.sleep(0)
                ready.put((len(batch), plans, problems))
            ready.put(None)
        except Exception as exc:  # handed to the writer, which stops the job with it
            ready.put(exc)

    checking = eventlet.spawn(check_all)
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        checking.kill()


def _record_batch(
    session: Session,
    claimed: _Claimed,
    runner_id: str,
    size: int,
    problems: list[RowProblem],
    outcome: BatchOutcome,
) -> None:
    session.add_all(
        ImportRowError(
            job_id=claimed.id,
            org_id=claimed.org_id,
            row=problem.row,
            line=problem.line,
            column=problem.column[:200] if problem.column else None,
            field=problem.field,
            value=problem.value,
            reason=problem.reason[:500],
        )
        for problem in problems
    )
    _leased(
        session,
        claimed,
        runner_id,
        rows_done=ImportJob.rows_done + size,
        rows_created=ImportJob.rows_created + outcome.created,
        rows_updated=ImportJob.rows_updated + outcome.updated,
        rows_unchanged=ImportJob.rows_unchanged + outcome.unchanged,
        rows_failed=ImportJob.rows_failed + len({problem.row for problem in problems}),
        companies_created=ImportJob.companies_created + len(outcome.new_companies),
        interests_created=ImportJob.interests_created + len(outcome.new_interests),
    )


def _finish(db: DatabaseAccess, claimed: _Claimed, runner_id: str, status: str, error: str | None) -> None:
    """Close the job: its file is dropped, ``import_finished`` announces the totals."""
    try:
        with db.transaction() as uow:
            job = _leased(
                uow.session,
                claimed,
                runner_id,
                status=status,
                error=error,
                content=None,
                runner_id=None,
                finished_at=utcnow(),
            )
            uow.emit("import_finished", org_id=job.org_id, actor_id=job.created_by, record=job_out(job))
    except LeaseLost:
        log.warning("import %s was taken over by another runner before it could finish", claimed.id)
