"""Running an import job: a lease on the job, then its rows checked and written a batch per
transaction.

``run`` takes a lease on the job, counts its rows, announces ``import_started``,
then checks and writes the rows a batch per transaction. A batch's contacts,
its row errors and the job's progress commit together, so a job taken over
after its runner died (its lease no longer renewed) resumes after the last
batch that committed. ``import_finished`` closes the job, done or failed.
"""

from __future__ import annotations

import itertools
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

from crm.database import DatabaseAccess
from crm.ids import new_id
from crm.times import utcnow
from services.contacts import lookups
from services.contacts.csv import format as csv_format
from services.contacts.csv.batches import write_batch
from services.contacts.csv.headers import Column
from services.contacts.csv.jobs import job_out
from services.contacts.csv.memory import BatchOutcome, ImportContext, ImportMemory
from services.contacts.csv.rows import RowChecker, RowPlan, RowProblem
from services.contacts.models import ImportJob, ImportRowError

log = logging.getLogger(__name__)

# A runner renews its lease at every batch; one silent for this long has stopped.
LEASE_SECONDS = 60
# How often a second delivery of ``import_queued`` looks whether the first runner is still alive.
WAIT_SECONDS = 5.0
# Rows checked between two chances for the writer to go on.
_CHECK_SLICE = 20


class LeaseLost(Exception):
    """Another runner took the job over: this one stops without writing more."""


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
    """The file's rows after its header (and what comes before it: a ``sep=`` line, LinkedIn's notes)."""
    skipped = csv_format.preamble_records(
        csv_format.read_records(claimed.content, claimed.encoding, claimed.delimiter), claimed.delimiter
    )
    found = csv_format.read_records(
        claimed.content, claimed.encoding, claimed.delimiter, len(claimed.columns)
    )
    return itertools.islice(found, skipped + 1, None)


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
                today=lookups.today(),
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
