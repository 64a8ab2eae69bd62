"""Deliverability of e-mail and use of SMS, per organisation, user, date range and provider.

An e-mail counts as sent once a provider took it; delivered, opened, clicked,
bounced and complained count the messages that reached each milestone (an
open counts as a delivery even when the provider's "delivered" never came).
Rates are over the messages sent. Members see their own figures only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from crm.times import range_end, range_start
from services.messaging.models import EmailMessage, SmsMessage
from services.messaging.schemas import ReportQuery

MILESTONES = ("delivered", "opened", "clicked", "bounced", "complained")


def _range(query: ReportQuery) -> tuple[datetime | None, datetime | None]:
    # A day is included whole; a date-time is that instant (until excluded).
    start = range_start(query.since) if query.since else None
    end = range_end(query.until) if query.until else None
    if start and end and end <= start:
        raise invalid("until", "is not after since")
    return start, end


def _scope(caller: Caller, query: ReportQuery) -> str | None:
    """The user the report is about: members only ever see themselves."""
    if not caller.is_admin:
        return caller.user_id
    return query.user_id


def _figures(row: Any) -> dict[str, Any]:
    sent = int(row.sent or 0)
    figures: dict[str, Any] = {"sent": sent}
    for milestone in MILESTONES:
        count = int(getattr(row, milestone) or 0)
        figures[milestone] = count
        figures[f"{milestone}_rate"] = round(count / sent, 4) if sent else 0.0
    return figures


def email_report(session: Session, caller: Caller, query: ReportQuery) -> dict[str, Any]:
    start, end = _range(query)
    counts = [func.count().label("sent")] + [
        func.count(getattr(EmailMessage, f"{milestone}_at")).label(milestone) for milestone in MILESTONES
    ]
    base = select(*counts).where(
        EmailMessage.org_id == caller.org_id, EmailMessage.status.notin_(("failed", "sending"))
    )
    if start is not None:
        base = base.where(EmailMessage.created_at >= start)
    if end is not None:
        base = base.where(EmailMessage.created_at < end)
    user_id = _scope(caller, query)
    if user_id is not None:
        base = base.where(EmailMessage.user_id == user_id)
    if query.provider is not None:
        base = base.where(EmailMessage.provider == query.provider)
    totals = _figures(session.execute(base).one())
    domains = session.execute(
        base.add_columns(EmailMessage.to_domain)
        .group_by(EmailMessage.to_domain)
        .order_by(func.count().desc(), EmailMessage.to_domain)
    ).all()
    return {"totals": totals, "by_domain": [{"domain": row.to_domain, **_figures(row)} for row in domains]}


def sms_report(session: Session, caller: Caller, query: ReportQuery) -> dict[str, Any]:
    """Per user: messages, segments, delivered, failed, and credits used (refunds deducted)."""
    start, end = _range(query)
    failed = SmsMessage.status == "failed"
    statement = select(
        SmsMessage.user_id,
        func.count().label("messages"),
        func.coalesce(func.sum(SmsMessage.segments), 0).label("segments"),
        func.count(case((SmsMessage.status == "delivered", 1))).label("delivered"),
        func.count(case((failed, 1))).label("failed"),
        func.coalesce(func.sum(case((failed, 0), else_=SmsMessage.segments)), 0).label("credits_used"),
    ).where(SmsMessage.org_id == caller.org_id)
    if start is not None:
        statement = statement.where(SmsMessage.created_at >= start)
    if end is not None:
        statement = statement.where(SmsMessage.created_at < end)
    user_id = _scope(caller, query)
    if user_id is not None:
        statement = statement.where(SmsMessage.user_id == user_id)
    rows = session.execute(statement.group_by(SmsMessage.user_id).order_by(SmsMessage.user_id)).all()
    users = [
        {
            "user_id": row.user_id,
            "messages": int(row.messages),
            "segments": int(row.segments),
            "delivered": int(row.delivered),
            "failed": int(row.failed),
            "credits_used": int(row.credits_used),
        }
        for row in rows
    ]
    return {"users": users, "credits_used": sum(user["credits_used"] for user in users)}
