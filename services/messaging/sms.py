"""Sending an SMS: checks and spending in one transaction, then the provider, then the outcome.

``prepare`` validates the number and the text, checks the sender's
authorization code, debits the credits and stores the message as ``sending``,
all in one transaction: a refused request spends nothing and sends nothing.
The provider is called after that transaction commits; ``record_accepted`` or
``record_failure`` (which refunds) stores what it answered. When no answer came
(the request may have reached it), the message stays ``sending``: its callbacks,
or the check for interrupted sends, settle it. ``send`` runs that sequence.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol
from urllib.parse import quote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork, once_more_on_conflict
from crm.errors import invalid
from crm.ids import new_id
from crm.times import iso, utcnow
from providers.base import Accepted, OutgoingSms, ProviderError
from services.messaging import authorization_codes, credit_ledger
from services.messaging.exceptions import (
    IdempotencyKeyReused,
    ProviderRefused,
    ProviderUnavailable,
    SmsNotFound,
)
from services.messaging.models import SmsMessage
from services.messaging.schemas import SmsSend
from services.messaging.segments import count_segments

log = logging.getLogger(__name__)

SENDING, QUEUED, SENT, DELIVERED, UNDELIVERED, FAILED = (
    "sending",
    "queued",
    "sent",
    "delivered",
    "undelivered",
    "failed",
)
# The order these move in, for callbacks: STATUS_ORDER["sms"] in providers/base.py.
_MESSAGES = SmsMessage.__table__


def e164(typed: str, region: str) -> str:
    """The E.164 form of a number; numbers without +country code are read in ``region``."""
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        raise invalid("to", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise invalid("to", f"not a valid phone number (numbers without +country code are read as {region})")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Prepared:
    message: dict[str, Any]
    replay: bool  # an earlier request with this idempotency key: nothing more to send


def _request_hash(to: str, body: str) -> str:
    return hashlib.sha256(json.dumps([to, body]).encode()).hexdigest()


def find_by_idempotency_key(session: Session, caller: Caller, key: str) -> SmsMessage | None:
    return session.scalar(
        select(SmsMessage).where(
            SmsMessage.org_id == caller.org_id,
            SmsMessage.user_id == caller.user_id,
            SmsMessage.idempotency_key == key,
        )
    )


def replay_of(message: SmsMessage, to: str, body: str) -> Prepared:
    """The stored answer to a retried request; the same key with another request is a conflict."""
    if message.request_hash != _request_hash(to, body):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for another SMS; use a new key for a new message",
            [{"field": "Idempotency-Key", "message": "used for another request"}],
        )
    return Prepared(sms_out(message), replay=True)


def prepare(
    uow: UnitOfWork,
    caller: Caller,
    request: SmsSend,
    idempotency_key: str | None,
    *,
    region: str,
    sender: str,
    max_segments: int,
) -> Prepared:
    session = uow.session
    to = e164(request.to, region)
    count = count_segments(request.body)
    if count.segments > max_segments:
        raise invalid(
            "body",
            f"takes {count.segments} segments of {count.encoding} text; at most {max_segments} are allowed",
        )
    if idempotency_key is not None:
        earlier = find_by_idempotency_key(session, caller, idempotency_key)
        if earlier is not None:
            return replay_of(earlier, to, request.body)
    code = authorization_codes.find_valid(session, caller, request.authorization_code)
    now = utcnow()
    message = {
        "id": new_id(),
        "org_id": caller.org_id,
        "user_id": caller.user_id,
        "authorization_code_id": code.id,
        "to_number": to,
        "sender": sender,
        "body": request.body,
        "encoding": count.encoding,
        "segments": count.segments,
        "status": SENDING,
        "status_at": now,
        "error": None,
        "provider": "twilio",
        "provider_message_id": None,
        "idempotency_key": idempotency_key,
        "request_hash": _request_hash(to, request.body),
        "created_at": now,
        "updated_at": now,
    }
    # Plain statements, no ORM objects: this is the send path, taken for every SMS.
    session.execute(insert(_MESSAGES), message)
    # Last, the two conditional updates of shared rows (the code's month, the balance):
    # their locks are held only until the commit that follows.
    authorization_codes.charge(session, code, count.segments)
    credit_ledger.debit(session, caller.org_id, caller.user_id, message["id"], count.segments)
    return Prepared(sms_out(SimpleNamespace(**message)), replay=False)


class SmsSender(Protocol):
    """A provider adapter that sends SMS (``providers.twilio_sms.TwilioSms``)."""

    def send(self, sms: OutgoingSms) -> Accepted: ...


def send(
    db: DatabaseAccess,
    provider: SmsSender,
    caller: Caller,
    request: SmsSend,
    idempotency_key: str | None,
    *,
    region: str,
    sender: str,
    max_segments: int,
    webhook_base_url: str,
) -> dict[str, Any]:
    """Store and pay for the SMS, hand it to the provider, record what it answered.

    A replay returns the first answer (``created`` false). A message the provider
    does not take is failed and refunded (its idempotency key freed when the
    provider may take it later); one it did not answer for stays ``sending``.
    """

    def prepare_once() -> Prepared:
        with db.transaction() as uow:
            return prepare(
                uow,
                caller,
                request,
                idempotency_key,
                region=region,
                sender=sender,
                max_segments=max_segments,
            )

    # The same key sent twice at once: the second run finds the first's message, a replay.
    prepared = prepare_once() if idempotency_key is None else once_more_on_conflict(prepare_once)
    if prepared.replay:
        return {**prepared.message, "created": False}
    message = prepared.message
    callback = f"{webhook_base_url}/webhooks/twilio/status?message_id={quote(message['id'])}"
    outgoing = OutgoingSms(
        to=message["to"], sender=message["sender"], body=message["body"], status_callback_url=callback
    )
    try:
        accepted = provider.send(outgoing)
    except ProviderError as exc:
        if exc.outcome_unknown:
            # Twilio may have taken it: it stays "sending", its credits held, until its callbacks
            # say what became of it or the check for interrupted sends gives it up and refunds.
            log.warning("SMS %s: outcome unknown, left sending: %s", message["id"], exc.reason)
            return {**message, "created": True}
        with db.transaction() as uow:
            failed = record_failure(uow, message["id"], exc.reason, forget_key=exc.retryable)
        if failed is None:  # a callback got there first: the provider did take it
            with db.read() as session:
                return {**sms_out(sms_of(session, caller, message["id"])), "created": True}
        if exc.retryable:
            raise ProviderUnavailable(
                f"the SMS provider is unavailable ({exc.reason}); nothing was spent"
            ) from None
        raise ProviderRefused(
            f"the SMS provider refused the message: {exc.reason}; its credits were refunded",
            [{"field": "to", "message": exc.reason}],
        ) from None
    with db.transaction() as uow:
        return {**record_accepted(uow, message["id"], accepted.provider_message_id), "created": True}


def record_accepted(uow: UnitOfWork, sms_id: str, provider_message_id: str) -> dict[str, Any]:
    """The provider took the message. A callback may have moved it further already."""
    now, sending = utcnow(), _MESSAGES.c.status == SENDING
    message = uow.session.execute(
        update(_MESSAGES)
        .where(_MESSAGES.c.id == sms_id)
        .values(
            provider_message_id=provider_message_id,
            status=case((sending, QUEUED), else_=_MESSAGES.c.status),
            status_at=case((sending, now), else_=_MESSAGES.c.status_at),
            updated_at=now,
        )
        .returning(*_MESSAGES.c)
    ).one()
    record = sms_out(message)
    uow.emit("sms_sent", org_id=message.org_id, actor_id=message.user_id, record=record)
    return record


def record_failure(uow: UnitOfWork, sms_id: str, reason: str, *, forget_key: bool) -> dict[str, Any] | None:
    """The provider did not take the message: it is failed and its credits come back.

    None, and nothing changes, if the message is no longer ``sending`` (a callback moved it
    on meanwhile). ``forget_key`` frees its idempotency key, so that a retry with the same
    key sends anew: nothing was spent.
    """
    message = uow.session.get(SmsMessage, sms_id, with_for_update=True)
    if message.status != SENDING:
        return None
    message.error = reason[:500]
    if forget_key:
        message.idempotency_key = None
    fail(uow, message)
    return sms_out(message)


def fail(uow: UnitOfWork, message: SmsMessage) -> None:
    """Mark failed and refund (once), giving the credits back to the code's month too."""
    _set_status(message, FAILED)
    session = uow.session
    if credit_ledger.refund(session, message.org_id, message.user_id, message.id, message.segments):
        authorization_codes.give_back(
            session, message.authorization_code_id, message.segments, message.created_at
        )
    uow.emit("sms_failed", org_id=message.org_id, actor_id=message.user_id, record=sms_out(message))


def charge_again(uow: UnitOfWork, message: SmsMessage) -> None:
    """The provider reports a failed (and refunded) SMS as sent after all, as it may after
    an interrupted send was given up: its credits are spent again, once."""
    session = uow.session
    if credit_ledger.charge_again(session, message.org_id, message.user_id, message.id, message.segments):
        authorization_codes.count_again(
            session, message.authorization_code_id, message.segments, message.created_at
        )


def _set_status(message: SmsMessage, status: str, at: Any = None) -> None:
    message.status = status
    message.status_at = at or utcnow()
    message.updated_at = utcnow()


def sms_of(session: Session, caller: Caller, sms_id: str) -> SmsMessage:
    """A message of the caller's organisation; members see only their own."""
    message = session.get(SmsMessage, sms_id)
    if (
        message is None
        or message.org_id != caller.org_id
        or not (caller.is_admin or message.user_id == caller.user_id)
    ):
        raise SmsNotFound(f"no SMS {sms_id}")
    return message


def sms_out(message: Any) -> dict[str, Any]:
    """The message as callers and events see it (an ORM object or a row with the same names)."""
    return {
        "id": message.id,
        "user_id": message.user_id,
        "to": message.to_number,
        "sender": message.sender,
        "body": message.body,
        "encoding": message.encoding,
        "segments": message.segments,
        "credits": message.segments,
        "status": message.status,
        "status_at": iso(message.status_at),
        "error": message.error,
        "provider_message_id": message.provider_message_id,
        "created_at": iso(message.created_at),
    }
