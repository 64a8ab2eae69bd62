"""Provider webhooks: verified here, stored by messaging, applied after the answer.

A request that does not prove it comes from the provider (signature, replay
window, basic auth) is a 403 and stores nothing; a body that is not the
provider's events is a 400. A verified body is handed to messaging in one call
that only stores the events (repeats skipped), so the provider gets its 2xx fast.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request, Response

from crm.errors import Forbidden, MalformedRequest
from crm.times import utcnow
from providers.base import MalformedWebhook, WebhookRejected, event_to_wire
from providers.mailjet_webhooks import parse_mailjet_events, verify_mailjet_basic_auth
from providers.sandbox_key import sandbox_sendgrid_public_key
from providers.sendgrid_webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_sendgrid_events,
    verify_sendgrid_signature,
)
from providers.twilio_webhooks import (
    SIGNATURE_HEADER as TWILIO_SIGNATURE_HEADER,
)
from providers.twilio_webhooks import (
    parse_twilio_status,
    verify_twilio_signature,
)
from services.gateway.http import json_response, route
from services.gateway.schemas import TwilioStatusQuery, WebhookAnswer

log = logging.getLogger(__name__)


class WebhookRefused(Forbidden):
    """The webhook did not prove it comes from the provider."""

    title = "Webhook refused"


@contextmanager
def verified(provider: str) -> Iterator[None]:
    """Turn a failed verification into 403 and an unreadable body into 400, naming the provider."""
    try:
        yield
    except WebhookRejected as exc:
        raise WebhookRefused(f"{provider} webhook refused: {exc.reason}") from None
    except MalformedWebhook as exc:
        raise MalformedRequest(exc.reason) from None


def _webhook_max_bytes(settings: Any) -> int:
    return max(settings.gateway.max_body_bytes, 5 * 1024 * 1024)


def live_secret(settings: Any, name: str) -> str:
    """The webhook secret ``messaging.<name>``; refused outside the sandbox while it is empty
    or still the built-in default, which anyone can read in this repository."""
    section_name, field = name.split(".")
    section = getattr(settings.messaging, section_name)
    value = getattr(section, field)
    if not settings.messaging.sandbox and value in ("", type(section).model_fields[field].default):
        raise WebhookRejected(f"messaging.{name} is not set (the sandbox default is not accepted when live)")
    return value


def sendgrid_public_key(settings: Any) -> str:
    """The key SendGrid's events are checked with: configured, or the sandbox's own."""
    configured = settings.messaging.sendgrid.webhook_public_key
    if configured or not settings.messaging.sandbox:
        return configured
    return sandbox_sendgrid_public_key()


class WebhookRoutes:
    """Mixed into the gateway service; ``self.messaging`` is the RPC client."""

    messaging: Any
    settings: Any

    def _store(self, provider: str, events: list[Any], ignored: list[dict[str, Any]]) -> Response:
        if ignored:
            log.info("%s webhook: %d event(s) of kinds we do not track, skipped", provider, len(ignored))
        answer = self.messaging.record_provider_events([event_to_wire(event) for event in events])
        return json_response(answer)

    @route(
        "POST",
        "/webhooks/twilio/status",
        summary="Twilio SMS status callback (signed with X-Twilio-Signature)",
        tag="webhooks",
        auth=False,
        query=TwilioStatusQuery,
        response=WebhookAnswer,
        errors=(400, 403),
        max_body_bytes=_webhook_max_bytes,
    )
    def twilio_status(self, request: Request) -> Response:
        settings = self.settings
        query = request.query_string.decode("latin-1")
        url = settings.webhook_base_url() + request.path + (f"?{query}" if query else "")
        with verified("Twilio"):
            verify_twilio_signature(
                live_secret(settings, "twilio.auth_token"),
                url,
                request.form,
                request.headers.get(TWILIO_SIGNATURE_HEADER),
            )
            event = parse_twilio_status(request.form, utcnow())
        event = dataclasses.replace(event, message_id=request.args.get("message_id") or None)
        return self._store("twilio", [event], [])

    @route(
        "POST",
        "/webhooks/sendgrid",
        summary="SendGrid signed event webhook (ECDSA over timestamp and body)",
        tag="webhooks",
        auth=False,
        response=WebhookAnswer,
        errors=(400, 403),
        max_body_bytes=_webhook_max_bytes,
    )
    def sendgrid_events(self, request: Request) -> Response:
        settings = self.settings
        body = request.get_data(cache=False)
        with verified("SendGrid"):
            verify_sendgrid_signature(
                sendgrid_public_key(settings),
                body,
                request.headers.get(SIGNATURE_HEADER),
                request.headers.get(TIMESTAMP_HEADER),
                utcnow(),
                settings.messaging.webhook_max_age_seconds,
            )
            events = parse_sendgrid_events(body)
        return self._store("sendgrid", list(events), events.ignored)

    @route(
        "POST",
        "/webhooks/mailjet",
        summary="Mailjet event callback (basic auth; one event or a grouped array)",
        tag="webhooks",
        auth=False,
        response=WebhookAnswer,
        errors=(400, 403),
        max_body_bytes=_webhook_max_bytes,
    )
    def mailjet_events(self, request: Request) -> Response:
        settings = self.settings
        mailjet = settings.messaging.mailjet
        body = request.get_data(cache=False)
        with verified("Mailjet"):
            password = live_secret(settings, "mailjet.webhook_password")
            verify_mailjet_basic_auth(mailjet.webhook_user, password, request.headers.get("Authorization"))
            events = parse_mailjet_events(body)
        return self._store("mailjet", list(events), events.ignored)
