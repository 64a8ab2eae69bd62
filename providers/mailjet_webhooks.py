"""Mailjet's event callbacks: basic auth, and the events as ProviderEvents.

Mailjet signs nothing: the callback URL carries a user and password that
only we and Mailjet know. Events come one per request, or as an array when
grouping is on, and have no id of their own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from crm import json_depth

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

PROVIDER = "mailjet"

# Mailjet's event words onto ours. Its "sent" means the recipient's server accepted the message.
EVENTS = {
    "sent": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "blocked": "rejected",
    "spam": "complained",
    "unsub": "unsubscribed",
}


def verify_mailjet_basic_auth(
    expected_user: str, expected_password: str, authorization_header: str | None
) -> None:
    """Accept the callback only if it carries our user and password (compared in constant time)."""
    if not authorization_header:
        raise WebhookRejected("Authorization header is missing")
    scheme, _, encoded = authorization_header.partition(" ")
    if scheme.lower() != "basic":
        raise WebhookRejected("Authorization is not basic auth")
    try:
        user, separator, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        raise WebhookRejected("Authorization is not valid base64") from None
    # Both comparisons run whatever the first one gives, so timing tells nothing.
    user_matches = hmac.compare_digest(user, expected_user.encode("utf-8"))
    password_matches = hmac.compare_digest(password, expected_password.encode("utf-8"))
    if not (separator and user_matches and password_matches):
        raise WebhookRejected("user or password does not match")


def parse_mailjet_events(body: bytes) -> ParsedEvents:
    """The events of one callback body (an event object or an array); unknown words go to ``ignored``."""
    parsed = ParsedEvents()
    for position, event in enumerate(load_json_events(body, "Mailjet")):
        require_fields(event, ("event", "time", "email"), f"Mailjet event #{position}")
        status = EVENTS.get(str(event["event"]))
        if status is None:
            parsed.ignored.append(event)
            continue
        parsed.append(_event(event, status, position))
    return parsed


def event_fingerprint(event: dict[str, Any]) -> str:
    """A stable id for an event that has none: the same event sent twice hashes the same."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _event(event: dict[str, Any], status: str, position: int) -> ProviderEvent:
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_fingerprint(event),
        message_id=optional_text(event.get("CustomID")) or _payload_message_id(event.get("Payload")),
        provider_message_id=optional_text(event.get("MessageID")),
        status=status,
        reason=_reason(event, status),
        bounce_kind=("hard" if event.get("hard_bounce") is True else "soft") if status == "bounced" else None,
        recipient=str(event["email"]),
        occurred_at=utc_from_unix(event["time"], f"Mailjet event #{position} time"),
        url=optional_text(event.get("url")),
        raw=event,
    )


def _payload_message_id(payload: object) -> str | None:
    """Our id from the EventPayload we sent (JSON), when the CustomID did not come back."""
    if not isinstance(payload, str) or not payload:
        return None
    try:
        document = json_depth.loads(payload)
    except ValueError:
        return None
    return optional_text(document.get(CRM_MESSAGE_ID)) if isinstance(document, dict) else None


def _reason(event: dict[str, Any], status: str) -> str | None:
    if status == "delivered":
        return optional_text(event.get("smtp_reply"))
    if status == "complained":
        return optional_text(event.get("source"))
    if status == "clicked":
        return optional_text(event.get("url"))
    parts = [optional_text(event.get(name)) for name in ("error_related_to", "error", "comment")]
    return ": ".join(part for part in parts if part) or None
