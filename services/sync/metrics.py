"""sync's business figures for Prometheus.

Read from its database at the scrape (``sync_alerts``: a row per record a push brought and the
server refused, never deleted; one GROUP BY reads it):

- ``crm_sync_rejected_records_total{reason}``: refused records by reason (the reasons the API
  documents: read_only, forbidden, not_found, invalid, conflict, unsupported).
- ``crm_sync_alerts_open``: those alerts their user has not marked read.

Counted by the process that answered (``counted`` on the entrypoints):

- ``crm_sync_pulls_total{outcome}``: ``ok`` or ``failure`` (any error: bad input, a peer away).
- ``crm_sync_pushes_total{outcome}``: ``ok`` (applied, some records perhaps refused one by
  one), ``conflict`` (refused whole: changed on the server since the phone's last pull; the
  phone pulls and pushes again, as the protocol expects) or ``failure``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, get_args

from prometheus_client import Counter
from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, case, func, select

from crm.figures import StoredFigures, counter, gauge
from services.sync.exceptions import SyncConflict
from services.sync.models import SyncAlert
from services.sync.schemas import AlertOut

OK, CONFLICT, FAILURE = "ok", "conflict", "failure"
REASONS: tuple[str, ...] = get_args(AlertOut.model_fields["reason"].annotation)

pulls = Counter("crm_sync_pulls_total", "Pulls of a phone's changes, by outcome", ["outcome"])
pushes = Counter("crm_sync_pushes_total", "Pushes of a phone's changes, by outcome", ["outcome"])
for _outcome in (OK, FAILURE):
    pulls.labels(_outcome)
for _outcome in (OK, CONFLICT, FAILURE):
    pushes.labels(_outcome)

F = TypeVar("F", bound=Callable[..., Any])


def counted(outcomes: Counter) -> Callable[[F], F]:
    """Counts each call of the decorated entrypoint in ``outcomes``, by how it ended."""

    def decorate(entrypoint: F) -> F:
        @functools.wraps(entrypoint)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                answer = entrypoint(*args, **kwargs)
            except SyncConflict:
                outcomes.labels(CONFLICT).inc()
                raise
            except Exception:
                outcomes.labels(FAILURE).inc()
                raise
            outcomes.labels(OK).inc()
            return answer

        return call  # type: ignore[return-value]

    return decorate


def collectors(engine: Engine) -> list[StoredFigures]:
    return [AlertFigures(engine)]


class AlertFigures(StoredFigures):
    def families(self) -> list[Metric]:
        return [
            counter(
                "crm_sync_rejected_records", "Records of a push the server refused, by reason", ["reason"]
            ),
            gauge("crm_sync_alerts_open", "Alerts of refused records their user has not marked read"),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        rejected, open_alerts = self.families()
        unread = func.coalesce(func.sum(case((SyncAlert.read_at.is_(None), 1), else_=0)), 0)
        query = select(SyncAlert.reason, func.count(), unread).group_by(SyncAlert.reason)
        by_reason = {reason: 0 for reason in REASONS}
        still_open = 0
        for reason, count, unread_count in connection.execute(query):
            by_reason[reason] = count
            still_open += unread_count
        for reason, count in by_reason.items():
            rejected.add_metric([reason], count)
        open_alerts.add_metric([], still_open)
        return [rejected, open_alerts]
