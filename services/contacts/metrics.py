"""contacts' business figures for Prometheus: CSV imports and their rows, read at each scrape
from ``import_jobs`` (one row per import, never deleted: a small table, read whole).

- ``crm_imports_total{status}``: imports by the status they are in now (queued, running,
  done, failed), so ``queued`` and ``running`` fall as imports move on.
- ``crm_import_rows_total{outcome}``: rows ``imported`` (created, updated or found unchanged)
  and ``failed`` (refused, each with its reason in the import's errors), growing as imports run.

Dry runs write nothing and are not counted.
"""

from __future__ import annotations

from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, func, select

from crm.figures import StoredFigures, counter
from services.contacts.models import ImportJob

STATUSES = ("queued", "running", "done", "failed")


def collectors(engine: Engine) -> list[StoredFigures]:
    return [ImportFigures(engine)]


class ImportFigures(StoredFigures):
    def families(self) -> list[Metric]:
        return [
            counter("crm_imports", "CSV imports of contacts by the status they are in now", ["status"]),
            counter("crm_import_rows", "Rows of CSV imports: imported or failed", ["outcome"]),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        imports, rows = self.families()
        job = ImportJob
        query = (
            select(
                job.status,
                func.count(),
                func.coalesce(func.sum(job.rows_created + job.rows_updated + job.rows_unchanged), 0),
                func.coalesce(func.sum(job.rows_failed), 0),
            )
            .where(job.dry_run.is_(False))
            .group_by(job.status)
        )
        jobs = {status: 0 for status in STATUSES}
        imported = failed = 0
        for status, count, done, refused in connection.execute(query):
            jobs[status] = count
            imported, failed = imported + done, failed + refused
        for status, count in jobs.items():
            imports.add_metric([status], count)
        rows.add_metric(["imported"], imported)
        rows.add_metric(["failed"], failed)
        return [imports, rows]
