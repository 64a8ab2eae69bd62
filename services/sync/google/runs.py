"""Runs of the Google sync: queued, leased to one runner, their progress, their end, their log.

A run's lease is ``runner_id`` and ``heartbeat_at``, renewed at every batch; a
run whose runner fell silent for ``LEASE_SECONDS`` is taken over and resumes
where its last batch left it (``page_token`` on Google's side, ``crm_after_id``
on the CRM's). A user has at most one run queued or running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm.ids import new_id
from crm.times import iso, utcnow
from services.sync.google.models import GoogleConnection, GoogleRun, GoogleRunLog

LEASE_SECONDS = 60
COUNTERS = (
    "created_in_crm",
    "updated_in_crm",
    "created_in_google",
    "updated_in_google",
    "linked",
    "conflicts",
    "skipped",
)


class LeaseLost(Exception):
    """Another runner took the run over: this one stops without writing more."""


def open_run(session: Session, connection: GoogleConnection, trigger: str) -> tuple[GoogleRun, bool]:
    """The user's unfinished run, or a new queued one (``True`` when made now)."""
    unfinished = session.scalars(
        select(GoogleRun).where(
            GoogleRun.user_id == connection.user_id, GoogleRun.status.in_(("queued", "running"))
        )
    ).first()
    if unfinished is not None:
        return unfinished, False
    run = GoogleRun(
        id=new_id(),
        org_id=connection.org_id,
        user_id=connection.user_id,
        status="queued",
        trigger=trigger,
        phase="from_google",
        created_at=utcnow(),
        **dict.fromkeys(("google_total", "google_done", "crm_total", "crm_done", *COUNTERS), 0),
    )
    session.add(run)
    session.flush()
    return run, True


def claim(
    session: Session, run_id: str, runner_id: str, lease_seconds: float = LEASE_SECONDS
) -> GoogleRun | None:
    """The run, now leased to ``runner_id``; None if it ended or another runner is alive on it."""
    now = utcnow()
    taken = session.execute(
        update(GoogleRun)
        .where(
            GoogleRun.id == run_id,
            or_(
                GoogleRun.status == "queued",
                (GoogleRun.status == "running")
                & (GoogleRun.heartbeat_at < now - timedelta(seconds=lease_seconds)),
            ),
        )
        .values(status="running", runner_id=runner_id, heartbeat_at=now)
    ).rowcount
    if not taken:
        return None
    run = session.get(GoogleRun, run_id)
    if run.started_at is None:
        run.started_at = now
    return run


def leased(session: Session, run_id: str, runner_id: str) -> GoogleRun:
    """The run, its lease renewed, if ``runner_id`` still holds it; else ``LeaseLost``."""
    done = session.execute(
        update(GoogleRun)
        .where(GoogleRun.id == run_id, GoogleRun.runner_id == runner_id, GoogleRun.status == "running")
        .values(heartbeat_at=utcnow())
    ).rowcount
    if done != 1:
        raise LeaseLost(run_id)
    return session.scalars(
        select(GoogleRun).where(GoogleRun.id == run_id).execution_options(populate_existing=True)
    ).one()


def runs_to_take_over(session: Session, now: datetime, lease_seconds: float = LEASE_SECONDS) -> list[str]:
    """Runs queued for a while (their event lost) or whose runner fell silent."""
    stale = now - timedelta(seconds=lease_seconds)
    return list(
        session.scalars(
            select(GoogleRun.id).where(
                or_(
                    (GoogleRun.status == "queued") & (GoogleRun.created_at < stale),
                    (GoogleRun.status == "running") & (GoogleRun.heartbeat_at < stale),
                )
            )
        )
    )


def log_entry(
    run: GoogleRun,
    contact_id: str | None,
    resource_name: str | None,
    direction: str,
    action: str,
    detail: str,
) -> GoogleRunLog:
    return GoogleRunLog(
        run_id=run.id,
        org_id=run.org_id,
        contact_id=contact_id,
        resource_name=resource_name,
        direction=direction,
        action=action,
        detail=detail,
        at=utcnow(),
    )


def run_out(run: GoogleRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "phase": run.phase,
        "from_google": {"done": run.google_done, "total": run.google_total},
        "to_google": {"done": run.crm_done, "total": run.crm_total},
        "counts": {name: getattr(run, name) for name in COUNTERS},
        "full_listing": run.full_listing,
        "error_code": run.error_code,
        "error": run.error,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
    }


def log_out(entry: GoogleRunLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "contact_id": entry.contact_id,
        "resource_name": entry.resource_name,
        "direction": entry.direction,
        "action": entry.action,
        "detail": entry.detail,
        "at": iso(entry.at),
    }


def run_of(session: Session, user_id: str, run_id: str) -> GoogleRun | None:
    run = session.get(GoogleRun, run_id)
    return run if run is not None and run.user_id == user_id else None


def runs_of(session: Session, user_id: str, limit: int) -> list[dict[str, Any]]:
    query = (
        select(GoogleRun)
        .where(GoogleRun.user_id == user_id)
        .order_by(GoogleRun.created_at.desc(), GoogleRun.id.desc())
    )
    return [run_out(run) for run in session.scalars(query.limit(limit))]


def log_page(session: Session, run_id: str, after: int, limit: int) -> dict[str, Any]:
    entries = list(
        session.scalars(
            select(GoogleRunLog)
            .where(GoogleRunLog.run_id == run_id, GoogleRunLog.id > after)
            .order_by(GoogleRunLog.id)
            .limit(limit + 1)
        )
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return {"items": [log_out(e) for e in entries], "next_cursor": str(entries[-1].id) if more else None}
