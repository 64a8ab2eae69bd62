"""The inbox: notifications made from participant events, read by their recipient only.

An event is applied in one short transaction: the record that it was applied
(``crm.inbox``), the notification, and its ``notification_created`` event in the
outbox. A redelivered event changes nothing. Every read and write is scoped to
the caller's organisation and to the caller: another user's notification is
not found.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.inbox import first_delivery
from crm.records import cursor_row
from crm.times import iso, utcnow
from services.notifier import preferences
from services.notifier.exceptions import NotificationNotFound
from services.notifier.models import Notification
from services.notifier.rules import delivery_for
from services.notifier.schemas import NotificationQuery, ParticipantEvent
from services.notifier.wording import wording_for

log = logging.getLogger(__name__)

NOTIFICATION_CREATED = "notification_created"


def deliver(db: DatabaseAccess, event_type: str, payload: Any) -> dict[str, Any] | None:
    """Apply a participant event once; returns the notification it made, if any.

    A malformed event is logged and dropped (retrying cannot mend it). A
    redelivery racing the first delivery fails on the inbox's primary key and is
    dropped too: the first one's effects are the ones that count.
    """
    try:
        event = ParticipantEvent.model_validate(payload)
    except ValidationError as exc:
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        log.warning("dropping malformed %s event %s: %s", event_type, event_id, exc)
        return None
    try:
        with db.transaction() as uow:
            return apply(uow, event_type, event)
    except IntegrityError:
        log.info("%s event %s was applied by a concurrent delivery", event_type, event.event_id)
        return None


def apply(uow: UnitOfWork, event_type: str, event: ParticipantEvent) -> dict[str, Any] | None:
    """In ``uow``: remember the event, make its notification and announce it."""
    if not first_delivery(uow.session, event.event_id, f"notifier.{event_type}"):
        return None
    delivery = delivery_for(event_type, event)
    if delivery is None:
        return None
    interaction, participant = event.record.interaction, event.record.participant
    wording = wording_for(delivery.kind, interaction, participant.user_id)
    notification = Notification(
        id=new_id(),
        org_id=event.org_id,
        user_id=delivery.recipient_id,
        kind=delivery.kind,
        interaction_id=interaction.id,
        participant_user_id=participant.user_id,
        actor_id=event.actor_id,
        title=wording.title,
        body=wording.body,
        link=wording.link,
        actions=wording.actions,
        source_event_id=event.event_id,
        created_at=utcnow(),
        read_at=None,
    )
    uow.session.add(notification)
    record = notification_out(notification)
    # The seam for e-mail copies: a consumer of notification_created sends one when asked to.
    email_copy = preferences.email_copy(uow.session, event.org_id, delivery.recipient_id)
    uow.emit(
        NOTIFICATION_CREATED,
        org_id=event.org_id,
        actor_id=event.actor_id,
        record={**record, "email_copy": email_copy},
    )
    return record


def _mine(caller: Caller) -> tuple[Any, ...]:
    return (Notification.org_id == caller.org_id, Notification.user_id == caller.user_id)


def page(session: Session, caller: Caller, query: NotificationQuery) -> dict[str, Any]:
    """The caller's notifications, newest first, ``limit`` per page (keyset on the time-ordered id)."""
    statement = select(Notification).where(*_mine(caller))
    if query.unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if query.cursor is not None:
        last = cursor_row(session, Notification, caller.org_id, query.cursor)
        statement = statement.where(Notification.id < last.id)
    rows = session.scalars(statement.order_by(Notification.id.desc()).limit(query.limit + 1)).all()
    served = rows[: query.limit]
    return {
        "items": [notification_out(notification) for notification in served],
        "next_cursor": served[-1].id if len(rows) > query.limit else None,
    }


def unread_count(session: Session, caller: Caller) -> int:
    return session.scalar(
        select(func.count()).select_from(Notification).where(*_mine(caller), Notification.read_at.is_(None))
    )


def mark_read(session: Session, caller: Caller, notification_id: Any) -> dict[str, Any]:
    """Mark one of the caller's notifications read; again is harmless and keeps the first time."""
    if not isinstance(notification_id, str):
        raise invalid("notification_id", "must be a string")
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, *_mine(caller), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    notification = session.scalar(
        select(Notification).where(Notification.id == notification_id, *_mine(caller))
    )
    if notification is None:
        raise NotificationNotFound(f"no notification {notification_id}")
    return notification_out(notification)


def mark_all_read(session: Session, caller: Caller) -> int:
    """Mark every unread notification of the caller read; returns how many there were."""
    result = session.execute(
        update(Notification)
        .where(*_mine(caller), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def notification_out(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "user_id": notification.user_id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "actions": list(notification.actions),
        "interaction_id": notification.interaction_id,
        "participant_user_id": notification.participant_user_id,
        "actor_id": notification.actor_id,
        "source_event_id": notification.source_event_id,
        "created_at": iso(notification.created_at),
        "read_at": iso(notification.read_at),
    }
