"""Twilio status callbacks: the request signature, and the callback as a ProviderEvent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from twilio.request_validator import RequestValidator

from .base import MalformedWebhook, ProviderEvent, WebhookRejected, optional_text, require_fields

PROVIDER = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"

# Twilio's MessageStatus words (outbound messages) onto ours.
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "partially_delivered": "delivered",  # some segments reached the phone: it was sent and paid
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def verify_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> None:
    """Accept the callback only if X-Twilio-Signature signs this URL and these form fields.

    ``url`` is the full URL Twilio requested, as Twilio saw it (scheme, host,
    path and query string); behind a proxy that is the public URL. ``params``
    may be a werkzeug MultiDict: repeated fields are signed too.
    """
    if not signature:
        raise WebhookRejected(f"{SIGNATURE_HEADER} header is missing")
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise WebhookRejected("signature does not match")


def parse_twilio_status(params: Mapping[str, str], received_at: datetime) -> ProviderEvent:
    """One status callback as an event; Twilio sends no time, so ``received_at`` stands for it.

    A status word outside ``STATUSES`` raises MalformedWebhook: Twilio documents
    every word it sends for outbound messages, and each one has its entry.
    """
    require_fields(params, ("MessageSid", "MessageStatus"), "Twilio status callback")
    word = params["MessageStatus"]
    status = STATUSES.get(word)
    if status is None:
        raise MalformedWebhook(f"unknown Twilio MessageStatus {word!r}")
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=f"{params['MessageSid']}:{word}",
        message_id=None,
        provider_message_id=params["MessageSid"],
        status=status,
        reason=_reason(params),
        bounce_kind=None,
        recipient=optional_text(params.get("To")),
        occurred_at=received_at,
        url=None,
        raw=dict(params),
    )


def _reason(params: Mapping[str, str]) -> str | None:
    code = optional_text(params.get("ErrorCode"))
    message = optional_text(params.get("ErrorMessage"))
    if code and message:
        return f"{code}: {message}"
    return code or message
