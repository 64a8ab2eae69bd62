"""What every provider adapter speaks: outgoing messages, acceptances, events, errors.

Each provider module turns these into SDK calls, and turns the provider's
webhooks back into ``ProviderEvent`` values in one vocabulary.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError

from crm import json_depth

# E-mail statuses use the first ten; SMS statuses are queued, sent, delivered, undelivered, failed.
VOCABULARY = (
    "queued",
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "rejected",
    "opened",
    "clicked",
    "complained",
    "unsubscribed",
    "failed",
    "undelivered",
)

# The one order a message's status moves in, per channel ("sending" is ours: stored, no
# provider answer yet). A status gives way only to one further along, never to one before
# it nor to itself: provider words that come late, twice or replayed only join the timeline.
# Time cannot decide this: Twilio's callbacks carry none, so a captured one can be replayed.
STATUS_ORDER: dict[str, tuple[str, ...]] = {
    # A failed (refunded) SMS reported undelivered or delivered after all was sent and is
    # charged again; nothing undoes a delivery, and "failed" never follows "undelivered".
    "sms": ("sending", "queued", "sent", "failed", "undelivered", "delivered"),
    # An open or click proves a delivery; "failed" is ours (no provider took the message),
    # so nothing a provider says changes it.
    "email": (
        "sending",
        "queued",
        "deferred",
        "sent",
        "rejected",
        "bounced",
        "delivered",
        "opened",
        "clicked",
        "unsubscribed",
        "complained",
        "failed",
    ),
}
STATUS_RANK = {
    channel: {status: rank for rank, status in enumerate(order)} for channel, order in STATUS_ORDER.items()
}


def moves_forward(channel: str, current: str, new: str) -> bool:
    """True when ``new`` lies further along the channel's order than ``current``."""
    rank = STATUS_RANK[channel]
    return new in rank and rank[new] > rank.get(current, -1)


# The key our message id travels under in every provider's custom arguments.
CRM_MESSAGE_ID = "crm_message_id"


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164, already normalised by the caller
    sender: str  # E.164 or alphanumeric sender id
    body: str
    status_callback_url: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # ours; travels in the provider's custom arguments under CRM_MESSAGE_ID
    sender_email: str
    sender_name: str | None
    to_email: str  # one recipient per message
    to_name: str | None
    subject: str
    text: str | None
    html: str | None
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Accepted:
    """What a provider answered when it took a message."""

    provider: str  # "twilio" | "sendgrid" | "mailjet" | "smtp"
    provider_message_id: str
    status: str  # normalised, usually "queued"


@dataclass(frozen=True)
class ProviderEvent:
    """One delivery or tracking event, in our vocabulary."""

    provider: str
    provider_event_id: str  # the same event resent by the provider gives the same id
    message_id: str | None  # our crm_message_id, when the provider echoed it
    provider_message_id: str | None
    status: str  # one of VOCABULARY
    reason: str | None  # bounce reason, error code and message, ...
    bounce_kind: str | None  # "hard" | "soft" | None
    recipient: str | None
    occurred_at: datetime  # aware, UTC
    url: str | None  # for clicked
    raw: dict[str, Any] = field(compare=False)  # the provider's event as received


def event_to_wire(event: ProviderEvent) -> dict[str, Any]:
    """A parsed event as it crosses RPC from the gateway to messaging."""
    return {
        "provider": event.provider,
        "provider_event_id": event.provider_event_id,
        "message_id": event.message_id,
        "provider_message_id": event.provider_message_id,
        "status": event.status,
        "reason": event.reason,
        "bounce_kind": event.bounce_kind,
        "recipient": event.recipient,
        "occurred_at": event.occurred_at.isoformat(),
        "url": event.url,
        "raw": event.raw,
    }


class ParsedEvents(list[ProviderEvent]):
    """The events of one webhook body, plus the ones skipped because we do not track their kind.

    A plain list of ``ProviderEvent`` for callers that only want the events;
    ``ignored`` holds the raw provider events whose event word is in none of
    our tables (SendGrid's ``group_resubscribe``, a word added after this
    code was written, ...), so that the webhook can still answer 2xx.
    """

    def __init__(self, events: Iterable[ProviderEvent] = (), ignored: Iterable[dict[str, Any]] = ()):
        super().__init__(events)
        self.ignored: list[dict[str, Any]] = list(ignored)


class ProviderError(Exception):
    """Sending failed. ``retryable`` says whether the same message may succeed later;
    ``outcome_unknown`` that the request may have reached the provider (no answer came),
    so the message may be on its way."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        retryable: bool,
        code: str | None = None,
        outcome_unknown: bool = False,
    ):
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.retryable = retryable
        self.code = code  # the provider's own error code (Twilio 21211, SMTP 550, ...), when it gave one
        self.outcome_unknown = outcome_unknown


class WebhookRejected(Exception):
    """The webhook did not prove it comes from the provider; ``reason`` says why, for logs."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MalformedWebhook(ValueError):
    """The webhook body cannot be read as the provider's events; ``reason`` says what is wrong."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def utc_from_unix(value: object, field_name: str) -> datetime:
    """A provider's unix timestamp as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedWebhook(f"{field_name} is not a unix timestamp: {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedWebhook(f"{field_name} is out of range: {value!r}") from error


def load_json_events(body: bytes, provider: str) -> list[dict[str, Any]]:
    """A webhook body holding one JSON event object or an array of them."""
    try:
        document = json_depth.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedWebhook(f"{provider} webhook body is not JSON: {error}") from error
    events = [document] if isinstance(document, dict) else document
    if not isinstance(events, list):
        raise MalformedWebhook(f"{provider} webhook body is neither an event object nor an array of them")
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise MalformedWebhook(f"{provider} event #{position} is not a JSON object")
    return events


def require_fields(event: Mapping[str, Any], names: Iterable[str], what: str) -> None:
    missing = [name for name in names if event.get(name) in (None, "")]
    if missing:
        raise MalformedWebhook(f"{what} lacks {', '.join(missing)}")


def optional_text(value: object) -> str | None:
    """A provider field as text, with empty strings and nulls as None."""
    if value is None or value == "":
        return None
    return str(value)


def never_reached(error: BaseException | None) -> bool:
    """True when a request failed before the provider could read it: the connection was
    refused, unreachable or timed out while connecting. After that (a read timeout, a
    dropped connection) the provider may have taken the message."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return (
            True  # urllib wraps what fails up to sending the request; waiting for the answer is not wrapped
        )
    if isinstance(error, requests.ConnectTimeout):
        return True
    retries = error.args[0] if isinstance(error, requests.ConnectionError) and error.args else None
    return isinstance(getattr(retries, "reason", None), ConnectTimeoutError)
