"""Sends interrupted between spending and the provider's answer.

A send stores its message as ``sending`` (credits spent) and commits before it
calls the provider; should the process stop before the answer is stored, the
message would stay ``sending`` for ever. A provider that took it reports it by
its callbacks, which move it on within seconds. One still ``sending`` after
``messaging.interrupted_send_seconds`` was never taken: it is failed with a
reason that says so, and an SMS gets its credits back (once, as any failed SMS).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crm.database import UnitOfWork
from crm.times import utcnow
from services.messaging import emails, sms
from services.messaging.models import EmailMessage, SmsMessage

REASON = (
    "the send was interrupted before the provider answered, and the provider reported nothing "
    "within {seconds} s: the message was not sent"
)


def _stale(uow: UnitOfWork, model: Any, cutoff: Any, limit: int) -> list[Any]:
    query = (
        select(model)
        .where(model.status == sms.SENDING, model.status_at < cutoff)
        .order_by(model.status_at)
        .limit(limit)
    )
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # a send still running holds its row
    return list(uow.session.scalars(query))


def fail_interrupted(uow: UnitOfWork, older_than_seconds: int, limit: int) -> int:
    """Fail (and refund) up to ``limit`` messages of each kind stuck in ``sending``; how many."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    reason = REASON.format(seconds=older_than_seconds)
    handled = 0
    for message in _stale(uow, SmsMessage, cutoff, limit):
        message.error = reason + "; its credits were refunded"
        sms.fail(uow, message)
        handled += 1
    for message in _stale(uow, EmailMessage, cutoff, limit):
        emails.record_failure(uow, message.id, reason)
        handled += 1
    return handled
