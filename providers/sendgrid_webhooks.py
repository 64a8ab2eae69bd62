"""SendGrid's signed Event Webhook: the ECDSA signature, and the events as ProviderEvents."""

from __future__ import annotations

import binascii
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from .base import (
    CRM_MESSAGE_ID,
    ParsedEvents,
    ProviderEvent,
    WebhookRejected,
    load_json_events,
    optional_text,
    require_fields,
    utc_from_unix,
)

PROVIDER = "sendgrid"
SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP

# SendGrid's event words onto ours; "bounce" is refined by its "type" below.
EVENTS = {
    "processed": "queued",
    "deferred": "deferred",
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "rejected",
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}
# A "bounce" event's "type": a refusal for good, or a block that may lift (SendGrid's own split).
BOUNCE_KINDS = {"bounce": "hard", "blocked": "soft"}


def verify_sendgrid_signature(
    public_key_b64: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: datetime,
    window_seconds: int,
) -> None:
    """Accept the request only if SendGrid signed this exact body at a time close to ``now``.

    ``public_key_b64`` is the verification key SendGrid shows (base64 DER);
    the timestamp may be neither older nor newer than ``window_seconds``.
    """
    if not signature:
        raise WebhookRejected(f"{SIGNATURE_HEADER} header is missing")
    if not timestamp:
        raise WebhookRejected(f"{TIMESTAMP_HEADER} header is missing")
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise WebhookRejected("timestamp is not a unix time") from None
    if abs(now.timestamp() - signed_at) > window_seconds:
        raise WebhookRejected("timestamp outside the replay window")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("signature does not match") from None  # SendGrid only signs UTF-8 JSON
    public_key = _public_key(public_key_b64)
    try:
        valid = EventWebhook().verify_signature(payload, signature, timestamp, public_key)
    except binascii.Error:
        raise WebhookRejected("signature is not base64") from None
    if not valid:
        raise WebhookRejected("signature does not match")


@lru_cache(maxsize=8)
def _public_key(public_key_b64: str) -> ec.EllipticCurvePublicKey:
    """The key, parsed once: a wrong key is a configuration error (ValueError), not a bad request."""
    return EventWebhook().convert_public_key_to_ecdsa(public_key_b64.strip())


def parse_sendgrid_events(body: bytes) -> ParsedEvents:
    """The events of one Event Webhook body (a JSON array); unknown event words go to ``ignored``."""
    parsed = ParsedEvents()
    for position, event in enumerate(load_json_events(body, "SendGrid")):
        require_fields(event, ("event", "email", "timestamp", "sg_event_id"), f"SendGrid event #{position}")
        status = EVENTS.get(str(event["event"]))
        if status is None:
            parsed.ignored.append(event)
            continue
        parsed.append(_event(event, status, position))
    return parsed


def _event(event: dict[str, Any], status: str, position: int) -> ProviderEvent:
    bounce_kind = BOUNCE_KINDS.get(event.get("type") or "bounce") if status == "bounced" else None
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=str(event["sg_event_id"]),
        message_id=optional_text(event.get(CRM_MESSAGE_ID)),
        provider_message_id=_x_message_id(event.get("sg_message_id")),
        status=status,
        reason=optional_text(event.get("reason") or event.get("response") or event.get("url")),
        bounce_kind=bounce_kind,
        recipient=str(event["email"]),
        occurred_at=utc_from_unix(event["timestamp"], f"SendGrid event #{position} timestamp"),
        url=optional_text(event.get("url")),
        raw=event,
    )


def _x_message_id(sg_message_id: object) -> str | None:
    """The X-Message-Id the send answered: SendGrid appends ".filter..." per recipient in events."""
    text = optional_text(sg_message_id)
    return text.split(".filter", 1)[0] if text else None
