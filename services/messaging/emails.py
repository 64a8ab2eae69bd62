"""Sending e-mail: the organisation's provider and sender, the suppression list, the message record.

As with SMS, the message is stored (``sending``) before any provider is called,
so that provider events can find it by our id however early they arrive.
``send`` runs the sequence: store, call the provider (then the fallback), record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork, once_more_on_conflict
from crm.errors import invalid
from crm.ids import new_id
from crm.times import iso, utcnow
from providers.base import STATUS_RANK, Accepted, Attachment, OutgoingEmail, ProviderError
from services.messaging import suppressions
from services.messaging.exceptions import (
    EmailNotFound,
    EmailNotSetUp,
    IdempotencyKeyReused,
    ProviderRefused,
    ProviderUnavailable,
)
from services.messaging.models import EmailMessage, EmailSettings, ProviderEvent
from services.messaging.schemas import EmailSend, EmailSettingsUpdate

log = logging.getLogger(__name__)

SENDING, QUEUED, FAILED = "sending", "queued", "failed"


# -- settings ------------------------------------------------------------------------


def settings_of(session: Session, org_id: str) -> EmailSettings | None:
    return session.get(EmailSettings, org_id)


def update_settings(session: Session, caller: Caller, request: EmailSettingsUpdate) -> dict[str, Any]:
    if request.fallback_provider == request.provider:
        raise invalid("fallback_provider", "must differ from provider")
    row = session.get(EmailSettings, caller.org_id) or EmailSettings(org_id=caller.org_id)
    row.provider = request.provider
    row.fallback_provider = request.fallback_provider
    row.sender_email = request.sender_email
    row.sender_name = request.sender_name
    row.updated_at = utcnow()
    session.add(row)
    return settings_out(row)


def settings_out(row: EmailSettings | None) -> dict[str, Any]:
    if row is None:
        return {"provider": None, "fallback_provider": None, "sender_email": None, "sender_name": None}
    return {
        "provider": row.provider,
        "fallback_provider": row.fallback_provider,
        "sender_email": row.sender_email,
        "sender_name": row.sender_name,
    }


# -- sending -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    message: dict[str, Any]
    outgoing: OutgoingEmail | None  # None for a replay: nothing more to send
    providers: tuple[str, ...]


def _request_hash(request: EmailSend) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def prepare(
    uow: UnitOfWork,
    caller: Caller,
    request: EmailSend,
    idempotency_key: str | None,
    *,
    max_attachment_bytes: int,
) -> Prepared:
    session = uow.session
    if request.text is None and request.html is None:
        raise invalid("text", "give the text or the html of the message (or both)")
    contents = [attachment.content() for attachment in request.attachments]
    total = sum(len(content) for content in contents)
    if total > max_attachment_bytes:
        raise invalid(
            "attachments", f"weigh {total} bytes together; at most {max_attachment_bytes} are allowed"
        )
    if idempotency_key is not None:
        earlier = session.scalar(
            select(EmailMessage).where(
                EmailMessage.org_id == caller.org_id,
                EmailMessage.user_id == caller.user_id,
                EmailMessage.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.request_hash != _request_hash(request):
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used for another e-mail; use a new key for a new message",
                    [{"field": "Idempotency-Key", "message": "used for another request"}],
                )
            return Prepared(email_out(earlier), None, ())
    setup = settings_of(session, caller.org_id)
    if setup is None or not setup.sender_email:
        raise EmailNotSetUp(
            "e-mail is not set up for this organisation: an admin chooses the provider and the sender "
            "with PUT /api/v1/emails/settings"
        )
    suppressions.refuse_if_suppressed(session, caller.org_id, request.to.email)
    now = utcnow()
    message = EmailMessage(
        id=new_id(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        to_email=request.to.email,
        to_domain=request.to.email.rpartition("@")[2],
        to_name=request.to.name,
        sender_email=setup.sender_email,
        sender_name=setup.sender_name,
        reply_to=request.reply_to,
        subject=request.subject,
        attachments=[
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
            for attachment, content in zip(request.attachments, contents, strict=True)
        ],
        provider=setup.provider,
        status=SENDING,
        status_at=now,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(request),
        created_at=now,
    )
    session.add(message)
    session.flush()
    outgoing = OutgoingEmail(
        message_id=message.id,
        sender_email=setup.sender_email,
        sender_name=setup.sender_name,
        to_email=request.to.email,
        to_name=request.to.name,
        subject=request.subject,
        text=request.text,
        html=request.html,
        reply_to=request.reply_to,
        attachments=tuple(
            Attachment(attachment.filename, attachment.content_type, content)
            for attachment, content in zip(request.attachments, contents, strict=True)
        ),
    )
    providers = (setup.provider,) + ((setup.fallback_provider,) if setup.fallback_provider else ())
    return Prepared(email_out(message), outgoing, providers)


class EmailSender(Protocol):
    """A provider adapter that sends e-mail (``providers.sendgrid_mail.SendGridMail``, ...)."""

    def send(self, email: OutgoingEmail) -> Accepted: ...


def send(
    db: DatabaseAccess,
    senders: Mapping[str, EmailSender],
    caller: Caller,
    request: EmailSend,
    idempotency_key: str | None,
    *,
    max_attachment_bytes: int,
) -> dict[str, Any]:
    """Store the e-mail, hand it to the organisation's provider (its fallback when that one
    fails), record what it answered. A replay returns the first answer (``created`` false).
    One a provider did not answer for stays ``sending``: a fallback could deliver it twice."""

    def prepare_once() -> Prepared:
        with db.transaction() as uow:
            return prepare(uow, caller, request, idempotency_key, max_attachment_bytes=max_attachment_bytes)

    prepared = prepare_once() if idempotency_key is None else once_more_on_conflict(prepare_once)
    if prepared.outgoing is None:
        return {**prepared.message, "created": False}
    message_id = prepared.message["id"]
    failures = []
    for provider in prepared.providers:
        try:
            accepted = senders[provider].send(prepared.outgoing)
        except ProviderError as exc:
            if exc.outcome_unknown:
                # It may be on its way: a fallback could deliver it twice. It stays "sending"
                # until the provider's events say, or the check for interrupted sends gives up.
                log.warning(
                    "e-mail %s: %s did not answer, left sending: %s", message_id, provider, exc.reason
                )
                return {**prepared.message, "created": True}
            log.warning("e-mail %s: %s failed: %s", message_id, provider, exc.reason)
            failures.append(exc)
            continue
        with db.transaction() as uow:
            result = record_accepted(uow, message_id, provider, accepted.provider_message_id)
        return {**result, "created": True}
    reasons = "; ".join(f"{exc.provider}: {exc.reason}" for exc in failures)
    with db.transaction() as uow:
        record_failure(uow, message_id, reasons)
    if all(exc.retryable for exc in failures):
        raise ProviderUnavailable(f"no e-mail provider took the message ({reasons})")
    raise ProviderRefused(f"the e-mail provider refused the message ({reasons})")


def record_accepted(
    uow: UnitOfWork, message_id: str, provider: str, provider_message_id: str
) -> dict[str, Any]:
    message = uow.session.get(EmailMessage, message_id)
    message.provider = provider
    message.provider_message_id = provider_message_id
    if message.status == SENDING:
        message.status, message.status_at = QUEUED, utcnow()
    uow.emit("email_sent", org_id=message.org_id, actor_id=message.user_id, record=email_out(message))
    return email_out(message)


def record_failure(uow: UnitOfWork, message_id: str, reason: str) -> dict[str, Any]:
    """No provider took the message; unless a provider event moved it on meanwhile, it is failed."""
    message = uow.session.get(EmailMessage, message_id, with_for_update=True)
    if message.status != SENDING:
        return email_out(message)
    message.status, message.status_at, message.error = FAILED, utcnow(), reason[:500]
    uow.emit("email_failed", org_id=message.org_id, actor_id=message.user_id, record=email_out(message))
    return email_out(message)


# -- reading -------------------------------------------------------------------------


def email_of(session: Session, caller: Caller, message_id: str) -> EmailMessage:
    """A message of the caller's organisation; members see only their own."""
    message = session.get(EmailMessage, message_id)
    if (
        message is None
        or message.org_id != caller.org_id
        or not (caller.is_admin or message.user_id == caller.user_id)
    ):
        raise EmailNotFound(f"no e-mail {message_id}")
    return message


def timeline(session: Session, message_id: str) -> list[dict[str, Any]]:
    """Every provider event of the message, in the order they happened."""
    events = sorted(
        session.scalars(
            select(ProviderEvent).where(
                ProviderEvent.message_id == message_id, ProviderEvent.channel == "email"
            )
        ),
        # Providers stamp events to the second: within one second, the lifecycle's order.
        key=lambda event: (event.occurred_at, STATUS_RANK["email"].get(event.status, 0), event.received_at),
    )
    return [
        {
            "status": event.status,
            "occurred_at": iso(event.occurred_at),
            "reason": event.reason,
            "url": event.url,
            "provider": event.provider,
        }
        for event in events
    ]


def email_out(message: EmailMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "user_id": message.user_id,
        "to": message.to_email,
        "to_name": message.to_name,
        "sender_email": message.sender_email,
        "sender_name": message.sender_name,
        "reply_to": message.reply_to,
        "subject": message.subject,
        "attachments": message.attachments,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "status": message.status,
        "status_at": iso(message.status_at),
        "error": message.error,
        "created_at": iso(message.created_at),
    }
