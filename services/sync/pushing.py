"""A whole push, as the route runs it: refuse it all on a conflict, else apply change by change,
remember each outcome for the device, and leave an alert for each refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import DatabaseAccess
from services.sync import devices, push
from services.sync.exceptions import SyncConflict
from services.sync.feed import Feed
from services.sync.models import ReplicaRecord
from services.sync.push import CREATED, Applied, Change, Refusal
from services.sync.scope import by_table

READ_ONLY_MESSAGE = "read-only users cannot change anything: ask your admin"


@dataclass
class PushResult:
    applied: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        rejected: dict[str, list[str]] = {}
        for refusal in self.refusals:
            rejected.setdefault(refusal.change.table, []).append(refusal.change.record_id)
        return {"applied": self.applied, "rejected": rejected, "alerts": self.alerts}


def changed_since(
    session: Session,
    org_id: str,
    user_id: str,
    device_id: str,
    changes: list[Change],
    last_pulled_at: int | None,
) -> list[Change]:
    """The pushed updates and deletions of records the server changed after ``last_pulled_at``,
    unless the server's copy is still as this device's own earlier change left it (its event
    may arrive after the pull that followed it)."""
    if last_pulled_at is None:
        return []
    touched = [c for c in changes if c.operation != CREATED]
    newer: dict[tuple[str, str], int] = {}
    for table, part in by_table({(c.table, c.record_id) for c in touched}):
        newer.update(
            ((table, record_id), version)
            for record_id, version in session.execute(
                select(ReplicaRecord.record_id, ReplicaRecord.version).where(
                    ReplicaRecord.org_id == org_id,
                    ReplicaRecord.table_name == table,
                    ReplicaRecord.record_id.in_(part),
                    ReplicaRecord.seq > last_pulled_at,
                )
            ).tuples()
        )
    own = devices.own_versions(session, user_id, device_id, set(newer)) if newer else set()
    return [c for c in touched if (key := (c.table, c.record_id)) in newer and (*key, newer[key]) not in own]


def run_push(
    db: DatabaseAccess,
    call: push.Call,
    caller: Any,
    device: dict[str, Any],
    changes: dict[str, dict[str, list[Any]]],
    last_pulled_at: int | None,
    now: Callable[[], datetime],
) -> PushResult:
    org_id, user_id, device_id = caller.org_id, caller.user_id, device["device_id"]
    plan = push.ordered(changes)
    with db.transaction() as uow:
        session = uow.session
        phone = devices.device_of(session, org_id, user_id, device_id, device.get("app_version"), now())
        phone.pushes += 1
        phone.last_push_at = now()
        earlier = devices.earlier_outcomes(session, user_id, device_id, plan)
        fresh = [c for c in plan if devices.fingerprint(c) not in earlier]
        stale = changed_since(session, org_id, user_id, device_id, fresh, last_pulled_at)
        if stale:
            names = ", ".join(f"{c.table} {c.record_id}" for c in stale[:10])
            devices.note_error(
                phone, f"push refused: changed on the server since the last pull ({names})", now()
            )
    if stale:
        raise SyncConflict(
            f"{len(stale)} pushed record(s) changed on the server since your last pull ({names}): "
            "nothing was applied; pull, then push again"
        )
    result = PushResult(
        applied=sum(1 for c in plan if earlier.get(devices.fingerprint(c)) == devices.APPLIED)
    )
    for change in fresh:
        outcome = (
            Refusal(change, "read_only", READ_ONLY_MESSAGE) if caller.read_only else push.apply(call, change)
        )
        applied = isinstance(outcome, Applied)
        with db.transaction() as uow:
            devices.remember(
                uow.session,
                user_id,
                device_id,
                change,
                devices.APPLIED if applied else devices.REFUSED,
                now(),
                outcome.version if applied else None,
            )
        if applied:
            result.applied += 1
        else:
            result.refusals.append(outcome)
    if result.refusals:
        _raise_alerts(db, org_id, user_id, device_id, result, now())
    return result


def _raise_alerts(
    db: DatabaseAccess, org_id: str, user_id: str, device_id: str, result: PushResult, now: datetime
) -> None:
    """Each refusal becomes an alert, and its record goes back to the phone at the next pull."""
    with db.transaction() as uow:
        feed = Feed(uow.session, org_id)
        for refusal in result.refusals:
            feed.touch(refusal.change.table, refusal.change.record_id)
            alert = devices.raise_alert(uow.session, org_id, user_id, device_id, refusal, feed.seq, now)
            result.alerts.append(devices.alert_out(alert))
        phone = devices.device_of(uow.session, org_id, user_id, device_id, None, now)
        first = result.refusals[0]
        what = f"{first.change.table} {first.change.record_id}: {first.message}"
        devices.note_error(phone, f"{len(result.refusals)} change(s) refused, first: {what}", now)
