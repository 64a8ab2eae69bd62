"""Provider events: stored as they arrive, applied to their messages afterwards.

``store`` is all a webhook waits for: one insert of the new events, the ones
seen before (same provider event id) skipped. ``apply_pending`` then moves
each message forward along ``STATUS_ORDER`` (``providers/base.py``): events
that arrive late, out of order or replayed only join the timeline. Hard
bounces and complaints put the address on the suppression list; a failed SMS
is refunded. An event whose message we do not know is kept, marked
``unknown_message``; one whose time lies outside the webhook window is kept,
marked ``stale``, and never applied.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.database import UnitOfWork, insert_ignoring_duplicates
from crm.times import aware, utcnow
from providers.base import moves_forward
from services.messaging import sms, suppressions
from services.messaging.emails import email_out
from services.messaging.models import EmailMessage, ProviderEvent, SmsMessage

log = logging.getLogger(__name__)

APPLIED, OLDER, UNKNOWN_MESSAGE, STALE = "applied", "older", "unknown_message", "stale"
SMS_PROVIDERS = frozenset({"twilio"})
# Mailjet signs nothing and puts no time on its requests, so the event's own time is the only
# sign of a captured callback posted again. One outside messaging.webhook_max_age_seconds (the
# window SendGrid's signed timestamp must fall in) is stored but never applied, rather than
# refused: a refusal would make Mailjet retry it, and lose the fresh events grouped with it.
TIME_CHECKED_PROVIDERS = frozenset({"mailjet"})


def is_stale(provider: str, occurred_at: datetime, received_at: datetime, max_age_seconds: int) -> bool:
    """True for an event of a provider that signs no time, stamped outside the webhook window."""
    if provider not in TIME_CHECKED_PROVIDERS:
        return False
    return abs((received_at - aware(occurred_at)).total_seconds()) > max_age_seconds


def store(session: Session, events: list[dict[str, Any]], max_age_seconds: int) -> dict[str, int]:
    """Keep the events not seen before; returns how many were new and how many repeats.

    An event ``is_stale`` is kept with its outcome already set (``stale``), so it is never
    applied: it changes no status, milestone, suppression or credit.

    Rows go in sorted by key, so that two concurrent batches sharing events take
    their locks in the same order (unsorted, they can deadlock on the primary key);
    the insert skips keys already there and returns the ones it added, so the
    count is exact even when a concurrent batch stored a shared event first.
    """
    now = utcnow()
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        fresh.setdefault((event["provider"], event["provider_event_id"]), event)
    rows = [
        {
            "provider": provider,
            "provider_event_id": event_id,
            "channel": "sms" if provider in SMS_PROVIDERS else "email",
            "message_id": (event.get("message_id") or None) and str(event["message_id"])[:36],
            "provider_message_id": event.get("provider_message_id"),
            "status": event["status"],
            "reason": (event.get("reason") or None) and str(event["reason"])[:500],
            "bounce_kind": event.get("bounce_kind"),
            "recipient": (event.get("recipient") or None) and str(event["recipient"])[:254],
            "url": (event.get("url") or None) and str(event["url"])[:2000],
            "occurred_at": datetime.fromisoformat(event["occurred_at"]),
            "received_at": now,
            "raw": event.get("raw") or {},
            "outcome": None,
        }
        for (provider, event_id), event in sorted(fresh.items())
    ]
    stale = [row for row in rows if is_stale(row["provider"], row["occurred_at"], now, max_age_seconds)]
    for row in stale:
        row["outcome"] = STALE
    if stale:  # one line per batch, however many: a flood of them must not flood the log
        log.warning(
            "%d %s event(s) stamped outside the %d s webhook window (first %s, at %s): kept, not applied",
            len(stale),
            stale[0]["provider"],
            max_age_seconds,
            stale[0]["provider_event_id"],
            stale[0]["occurred_at"].isoformat(),
        )
    stored = 0
    if rows:
        # Many rows, one statement (SQLAlchemy's "insertmanyvalues"), compiled once and cached.
        table = ProviderEvent.__table__
        statement = insert_ignoring_duplicates(session, table).returning(table.c.provider_event_id)
        stored = len(session.execute(statement, rows).all())
    return {"received": len(events), "stored": stored, "duplicates": len(events) - stored}


def apply_pending(uow: UnitOfWork, limit: int) -> int:
    """Apply up to ``limit`` stored events, oldest first; returns how many were handled."""
    session = uow.session
    # Any pending events, in no particular order: applying does not depend on it (a status
    # only moves forward, milestones keep the earliest time) and the batch is applied in the
    # order the events occurred. An ORDER BY made PostgreSQL sort every pending event for
    # each batch whenever its statistics predated a burst: 75 ms a batch with 36,000 pending.
    query = select(ProviderEvent).where(ProviderEvent.outcome.is_(None)).limit(limit)
    locking = session.get_bind().dialect.name == "postgresql"
    if locking:
        query = query.with_for_update(skip_locked=True)  # several messaging processes share the work
    events = list(session.scalars(query))
    if not events:
        return 0
    sms_messages = _messages(session, SmsMessage, [e for e in events if e.channel == "sms"], locking)
    email_messages = _messages(session, EmailMessage, [e for e in events if e.channel == "email"], locking)
    handled = 0
    for event in sorted(events, key=lambda e: aware(e.occurred_at)):
        found = sms_messages if event.channel == "sms" else email_messages
        message = found.get(event.message_id) or found.get(("provider", event.provider_message_id))
        if message is BUSY:
            continue  # a send is storing its answer: the event waits for the next round
        if message is not None and message.provider != event.provider:
            if message.status == sms.SENDING:
                continue  # a fallback provider took it and that is not stored yet: next round
            message = None  # another provider's event does not speak for this message
        handled += 1
        if message is None:
            event.outcome = UNKNOWN_MESSAGE
            log.warning(
                "%s event %s names a message we do not know (ours %s, theirs %s); kept for inspection",
                event.provider,
                event.provider_event_id,
                event.message_id,
                event.provider_message_id,
            )
            continue
        event.org_id, event.message_id = message.org_id, message.id
        if event.channel == "sms":
            event.outcome = _apply_to_sms(uow, message, event)
        else:
            event.outcome = _apply_to_email(uow, message, event)
    return handled


BUSY = object()  # a message whose row another transaction holds


def _messages(session: Session, model: Any, events: list[ProviderEvent], locking: bool) -> dict[Any, Any]:
    """The messages the events name, by our id and by ("provider", their id), locked for the update.

    On PostgreSQL a message another transaction holds (a send storing the
    provider's answer) is skipped rather than waited for, and marked ``BUSY``.
    """
    ours = {e.message_id for e in events if e.message_id}
    theirs = {e.provider_message_id for e in events if e.provider_message_id and not e.message_id}
    if not ours and not theirs:
        return {}
    named = select(model).where(or_(model.id.in_(ours), model.provider_message_id.in_(theirs)))
    rows = session.scalars(named.with_for_update(skip_locked=True) if locking else named).all()
    found: dict[Any, Any] = {}
    for row in rows:
        found[row.id] = row
        if row.provider_message_id:
            found[("provider", row.provider_message_id)] = row
    if locking:
        present = session.execute(
            select(model.id, model.provider_message_id).where(
                or_(model.id.in_(ours), model.provider_message_id.in_(theirs))
            )
        ).all()
        for message_id, provider_message_id in present:
            found.setdefault(message_id, BUSY)
            if provider_message_id:
                found.setdefault(("provider", provider_message_id), BUSY)
    return found


def _apply_to_sms(uow: UnitOfWork, message: SmsMessage, event: ProviderEvent) -> str:
    at = aware(event.occurred_at)
    if not moves_forward("sms", message.status, event.status):
        return OLDER  # a "failed" replayed after "delivered" neither moves it nor refunds it
    if message.status == sms.FAILED and event.status != sms.FAILED:
        # Only "undelivered" or "delivered" move past "failed": the provider sent it after all.
        sms.charge_again(uow, message)
        message.error = None
    if event.reason:
        message.error = event.reason
    if event.status == sms.FAILED:
        sms.fail(uow, message)
        message.status_at = at
        return APPLIED
    message.status, message.status_at, message.updated_at = event.status, at, utcnow()
    uow.emit("sms_status_changed", org_id=message.org_id, actor_id=None, record=sms.sms_out(message))
    return APPLIED


def _apply_to_email(uow: UnitOfWork, message: EmailMessage, event: ProviderEvent) -> str:
    at = aware(event.occurred_at)
    status = event.status
    # Milestones are kept whatever the order: an open proves a delivery even if "delivered" comes later.
    if status in ("delivered", "opened", "clicked"):
        message.delivered_at = _earliest(message.delivered_at, at)
    if status in ("opened", "clicked"):
        message.opened_at = _earliest(message.opened_at, at)
    if status == "clicked":
        message.clicked_at = _earliest(message.clicked_at, at)
    if status == "bounced":
        message.bounced_at = _earliest(message.bounced_at, at)
        if event.bounce_kind == "hard":
            suppressions.suppress(
                uow.session,
                message.org_id,
                message.to_email,
                suppressions.HARD_BOUNCE,
                event.reason,
                message.id,
            )
    if status == "complained":
        message.complained_at = _earliest(message.complained_at, at)
        suppressions.suppress(
            uow.session, message.org_id, message.to_email, suppressions.COMPLAINT, event.reason, message.id
        )
    if not moves_forward("email", message.status, status):
        return OLDER
    message.status, message.status_at = status, at
    if event.reason and status in ("bounced", "rejected", "deferred"):
        message.error = event.reason
    uow.emit("email_status_changed", org_id=message.org_id, actor_id=None, record=email_out(message))
    return APPLIED


def _earliest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < aware(current) else current


def unknown_message_events(session: Session, limit: int) -> list[ProviderEvent]:
    """Events naming no message of ours (kept for inspection), latest first.

    They belong to no organisation we know, so only the operator sees them
    (``crm admin unknown-provider-events``), never an organisation's admin.
    """
    return list(
        session.scalars(
            select(ProviderEvent)
            .where(ProviderEvent.outcome == UNKNOWN_MESSAGE)
            .order_by(ProviderEvent.received_at.desc(), ProviderEvent.provider_event_id)
            .limit(limit)
        )
    )
