"""Timers and time entries: the time a user spends on an interaction, and what it costs.

A user has at most one running timer. Stopping it books a time entry costed at
the user's hourly cost at that moment: the rate is copied onto the entry, so
later changes of the rate leave booked entries as they are. A user without an
hourly cost books entries without a cost. Totals add seconds, and costs per
currency, as decimals.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork, insert_ignoring_duplicates
from crm.errors import invalid
from crm.ids import new_id
from crm.records import record_of
from crm.times import aware, iso, utcnow
from crm.validation import money_out
from services.interactions.exceptions import NoRunningTimer, ProjectNotFound, TimerAlreadyRunning
from services.interactions.interactions import interaction_of
from services.interactions.models import Interaction, Project, RunningTimer, TimeEntry
from services.interactions.timer_schemas import TimeTotalsQuery

CENT = Decimal("0.01")


def cost_of(seconds: int, rate: Decimal) -> Decimal:
    """``seconds`` at ``rate`` an hour, to the cent (half up)."""
    return (rate * seconds / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def timer_out(row: RunningTimer, now: datetime) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "interaction_id": row.interaction_id,
        "started_at": iso(row.started_at),
        "seconds": max(0, int((now - aware(row.started_at)).total_seconds())),
    }


def entry_out(row: TimeEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "interaction_id": row.interaction_id,
        "project_id": row.project_id,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "seconds": row.seconds,
        "rate": money_out(row.rate_amount, row.rate_currency),
        "cost": money_out(row.cost_amount, row.rate_currency),
    }


def _running(session: Session, caller: Caller) -> RunningTimer | None:
    row = session.get(RunningTimer, caller.user_id)
    return row if row is not None and row.org_id == caller.org_id else None


def start(uow: UnitOfWork, caller: Caller, interaction_id: str) -> dict[str, Any]:
    """Start the caller's timer on the interaction; a timer already running is a conflict naming it."""
    session = uow.session
    interaction_of(session, caller.org_id, interaction_id)
    now = utcnow()
    # Insert-or-nothing: of two starts at once, one inserts and the other sees the conflict.
    inserted = session.execute(
        insert_ignoring_duplicates(session, RunningTimer).values(
            user_id=caller.user_id, org_id=caller.org_id, interaction_id=interaction_id, started_at=now
        )
    ).rowcount
    row = session.get(RunningTimer, caller.user_id, populate_existing=True)
    if not inserted:
        raise TimerAlreadyRunning(
            f"your timer is already running on interaction {row.interaction_id} since "
            f"{iso(row.started_at)}: stop it first",
            [{"field": "interaction_id", "message": f"running on {row.interaction_id}"}],
        )
    return timer_out(row, now)


def running(session: Session, caller: Caller) -> dict[str, Any]:
    row = _running(session, caller)
    return {"timer": timer_out(row, utcnow()) if row is not None else None}


def stop(uow: UnitOfWork, caller: Caller, hourly_cost: dict[str, str] | None) -> dict[str, Any]:
    """Stop the caller's timer and book the time entry at ``hourly_cost`` (the user's rate now)."""
    session = uow.session
    # Delete-and-return: of two stops at once, only one gets the timer.
    stopped = session.execute(
        delete(RunningTimer)
        .where(RunningTimer.user_id == caller.user_id, RunningTimer.org_id == caller.org_id)
        .returning(RunningTimer.interaction_id, RunningTimer.started_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if stopped is None:
        raise NoRunningTimer("you have no timer running")
    interaction_id, started_at = stopped.interaction_id, aware(stopped.started_at)
    now = utcnow()
    seconds = max(0, int((now - started_at).total_seconds()))
    rate = Decimal(hourly_cost["amount"]) if hourly_cost else None
    # The interaction may have been deleted meanwhile: the time was spent all the same.
    interaction = session.get(Interaction, interaction_id)
    row = TimeEntry(
        id=new_id(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        interaction_id=interaction_id,
        project_id=interaction.project_id if interaction is not None else None,
        started_at=started_at,
        ended_at=now,
        seconds=seconds,
        rate_amount=rate,
        rate_currency=hourly_cost["currency"] if hourly_cost else None,
        cost_amount=cost_of(seconds, rate) if rate is not None else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return entry_out(row)


def totals(session: Session, caller: Caller, query: TimeTotalsQuery) -> dict[str, Any]:
    """Seconds and costs (per currency) booked on an interaction, a project or by a user."""
    given = {name: value for name, value in query.model_dump().items() if value is not None}
    if len(given) != 1:
        raise invalid("interaction_id", "give exactly one of interaction_id, project_id or user_id")
    ((name, value),) = given.items()
    if name == "interaction_id":
        interaction_of(session, caller.org_id, value)
    elif name == "project_id":
        record_of(session, Project, caller.org_id, value, ProjectNotFound, "project")
    rows = session.execute(
        select(
            TimeEntry.rate_currency,
            func.count().label("entries"),
            func.coalesce(func.sum(TimeEntry.seconds), 0).label("seconds"),
            func.sum(TimeEntry.cost_amount).label("cost"),
        )
        .where(TimeEntry.org_id == caller.org_id, getattr(TimeEntry, name) == value)
        .group_by(TimeEntry.rate_currency)
        .order_by(TimeEntry.rate_currency)
    ).all()
    costs = [
        money_out(Decimal(str(row.cost)).quantize(CENT), row.rate_currency)
        for row in rows
        if row.rate_currency is not None and row.cost is not None
    ]
    return {
        name: value,
        "entries": sum(row.entries for row in rows),
        "seconds": sum(int(row.seconds) for row in rows),
        # Time booked by users without an hourly cost: in ``seconds``, in no cost.
        "unpriced_seconds": sum(int(row.seconds) for row in rows if row.rate_currency is None),
        "costs": costs,
    }
