"""Running a job: progress a batch at a time, a lease taken over when its runner dies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from greenlet import GreenletExit
from sqlalchemy import update

from services.contacts.csv import runner
from services.contacts.models import Contact, ImportJob
from tests.people import BOB
from tests.unit.contacts.csv.imports import (
    csv_text,
    imported,
    run_queued,
    upload,
)

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


# -- the job -------------------------------------------------------------------------


def test_progress_is_recorded_batch_by_batch(contacts):
    job = upload(contacts.as_user(BOB), csv_text("Nom", "Dupont", "Martin", "Durand", "Petit", "Blanc"))
    seen = []

    def between_batches(seconds: float) -> None:
        progress = contacts.as_user(BOB).get_import(job["id"])
        seen.append((progress["status"], progress["rows_done"], progress["total_rows"]))

    runner.run(contacts.db, job["id"], "FR", 2, sleep=between_batches)

    assert seen == [("running", 2, 5), ("running", 4, 5), ("running", 5, 5)]
    assert contacts.as_user(BOB).get_import(job["id"])["status"] == "done"


def test_an_import_resumes_after_its_runner_died_without_writing_a_row_twice(contacts):
    job = upload(contacts.as_user(BOB), csv_text("Nom", "Dupont", "Martin", "Durand", "Petit", "Blanc"))

    def killed(seconds: float) -> None:
        raise GreenletExit()

    with pytest.raises(GreenletExit):
        runner.run(contacts.db, job["id"], "FR", 2, sleep=killed)
    assert contacts.as_user(BOB).get_import(job["id"])["rows_done"] == 2 and contacts.as_user(BOB).get_import(
        job["id"]
    )["status"] == ("running")

    runner.run(contacts.db, job["id"], "FR", 2, lease_seconds=0)

    finished = contacts.as_user(BOB).get_import(job["id"])
    assert (finished["status"], finished["rows_done"], finished["rows_created"]) == ("done", 5, 5)
    assert contacts.count(Contact) == 5


def test_a_second_delivery_waits_while_the_first_runner_is_alive(contacts):
    job = upload(contacts.as_user(BOB), csv_text("Nom", "Dupont"))
    assert runner._claim(contacts.db, job["id"], "premier-coureur", 60)
    waits = []

    def first_runner_dies(seconds: float) -> None:
        waits.append(seconds)
        with contacts.db.transaction() as uow:
            uow.session.execute(
                update(ImportJob).where(ImportJob.id == job["id"]).values(heartbeat_at=LONG_AGO)
            )

    runner.run(contacts.db, job["id"], "FR", 200, sleep=first_runner_dies)

    assert waits == [runner.WAIT_SECONDS, 0]  # one wait, then the batch it ran
    assert contacts.as_user(BOB).get_import(job["id"])["rows_created"] == 1


def test_a_finished_job_is_not_run_again(contacts):
    job = imported(contacts, BOB, csv_text("Nom", "Dupont"))

    run_queued(contacts, job["id"])

    assert contacts.count(Contact) == 1
    assert len(contacts.events("import_finished")) == 1


def test_an_unexpected_failure_fails_the_job_and_says_so(contacts, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(runner, "write_batch", broken)

    job = imported(contacts, BOB, csv_text("Nom", "Dupont"))

    assert (job["status"], job["error"]) == (
        "failed",
        "the import stopped on an unexpected error; it has been logged",
    )
    assert contacts.events("import_finished")[0]["record"]["status"] == "failed"
    with contacts.db.read() as session:
        assert session.get(ImportJob, job["id"]).content is None


def test_a_file_with_only_its_header_finishes_at_once(contacts):
    job = imported(contacts, BOB, csv_text("Nom;Prénom;Email"))

    assert (job["status"], job["total_rows"], job["rows_done"]) == ("done", 0, 0)
