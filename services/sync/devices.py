"""Phones that sync, what each pushed (so a retried push applies nothing twice), and the alerts
a refused change leaves for the phone's settings screen."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.ids import new_id
from crm.times import iso
from services.sync.exceptions import AlertNotFound
from services.sync.models import Device, DeviceMutation, SyncAlert
from services.sync.push import Change, Refusal
from services.sync.scope import by_table

APPLIED, REFUSED = "applied", "refused"
ERROR_LENGTH = 2000


def device_of(
    session: Session, org_id: str, user_id: str, device_id: str, app_version: str | None, now: datetime
) -> Device:
    device = session.get(Device, (user_id, device_id), with_for_update=True)
    if device is None:
        device = Device(
            user_id=user_id, device_id=device_id, org_id=org_id, first_seen_at=now, pulls=0, pushes=0
        )
        session.add(device)
    if app_version:
        device.app_version = app_version
    return device


def note_error(device: Device, message: str, now: datetime) -> None:
    device.last_error, device.last_error_at = message[:ERROR_LENGTH], now


def fingerprint(change: Change) -> str:
    return hashlib.sha256(change.fingerprint.encode()).hexdigest()


def earlier_outcomes(session: Session, user_id: str, device_id: str, changes: list[Change]) -> dict[str, str]:
    """{fingerprint: outcome} of the changes this device already pushed, exactly as now."""
    prints = {fingerprint(c) for c in changes}
    mutation = DeviceMutation
    rows = session.execute(
        select(mutation.change_hash, mutation.outcome).where(
            mutation.user_id == user_id, mutation.device_id == device_id, mutation.change_hash.in_(prints)
        )
    ).tuples()
    return {change_hash: outcome for change_hash, outcome in rows}


def remember(
    session: Session,
    user_id: str,
    device_id: str,
    change: Change,
    outcome: str,
    now: datetime,
    version: int | None = None,
) -> None:
    key = (user_id, device_id, change.table, change.record_id, fingerprint(change))
    if session.get(DeviceMutation, key) is None:
        session.add(
            DeviceMutation(
                user_id=user_id,
                device_id=device_id,
                table_name=change.table,
                record_id=change.record_id,
                change_hash=key[-1],
                outcome=outcome,
                at=now,
                result_version=version,
            )
        )


def own_versions(
    session: Session, user_id: str, device_id: str, keys: set[tuple[str, str]]
) -> set[tuple[str, str, int]]:
    """(table, id, version) of the records this device's own applied changes left them at."""
    mutation = DeviceMutation
    found: set[tuple[str, str, int]] = set()
    for table, part in by_table(keys):
        found.update(
            (table, record_id, version)
            for record_id, version in session.execute(
                select(mutation.record_id, mutation.result_version).where(
                    mutation.user_id == user_id,
                    mutation.device_id == device_id,
                    mutation.table_name == table,
                    mutation.record_id.in_(part),
                    mutation.result_version.is_not(None),
                )
            ).tuples()
        )
    return found


def raise_alert(
    session: Session, org_id: str, user_id: str, device_id: str, refusal: Refusal, seq: int, now: datetime
) -> SyncAlert:
    alert = SyncAlert(
        id=new_id(),
        org_id=org_id,
        user_id=user_id,
        device_id=device_id,
        table_name=refusal.change.table,
        record_id=refusal.change.record_id,
        operation=refusal.change.operation,
        reason=refusal.reason,
        message=refusal.message[:ERROR_LENGTH],
        seq=seq,
        created_at=now,
    )
    session.add(alert)
    return alert


def alert_out(alert: SyncAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "device_id": alert.device_id,
        "table": alert.table_name,
        "record_id": alert.record_id,
        "operation": alert.operation,
        "reason": alert.reason,
        "message": alert.message,
        "created_at": iso(alert.created_at),
        "read_at": iso(alert.read_at),
    }


def alerts_of(session: Session, user_id: str, unread: bool, limit: int) -> list[dict[str, Any]]:
    query = select(SyncAlert).where(SyncAlert.user_id == user_id)
    if unread:
        query = query.where(SyncAlert.read_at.is_(None))
    rows = session.scalars(query.order_by(SyncAlert.seq.desc(), SyncAlert.id.desc()).limit(limit))
    return [alert_out(row) for row in rows]


def mark_read(session: Session, user_id: str, alert_id: str, now: datetime) -> dict[str, Any]:
    alert = session.get(SyncAlert, alert_id, with_for_update=True)
    if alert is None or alert.user_id != user_id:
        raise AlertNotFound(f"no sync alert {alert_id} of yours")
    if alert.read_at is None:
        alert.read_at = now
    return alert_out(alert)


def device_out(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "user_id": device.user_id,
        "app_version": device.app_version,
        "first_seen_at": iso(device.first_seen_at),
        "last_pull_at": iso(device.last_pull_at),
        "last_pulled_seq": device.last_pulled_seq,
        "last_push_at": iso(device.last_push_at),
        "last_error": device.last_error,
        "last_error_at": iso(device.last_error_at),
        "pulls": device.pulls,
        "pushes": device.pushes,
    }


def devices_of(session: Session, org_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Device)
        .where(Device.org_id == org_id)
        .order_by(Device.last_error_at.desc().nulls_last(), Device.user_id, Device.device_id)
    )
    return [device_out(row) for row in rows]
