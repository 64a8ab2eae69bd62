"""Provider webhooks at the edge: live secrets, not the sandbox's published defaults."""

from __future__ import annotations

import base64
import json
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.settings import parse_settings
from services.gateway.service import GatewayService
from services.gateway.webhook_routes import WebhookRefused

MAILJET_EVENT = {
    "event": "sent",
    "time": 1795000000,
    "MessageID": 19421777835146490,
    "email": "jeanne.dupont@exemple.fr",
    "CustomID": "01a2056f-27ee-703b-8773-05cab6306450",
}
PUBLIC_URL = "https://crm.pomme.fr"


def _gateway(messaging_settings: str):
    settings = parse_settings(f"gateway:\n  public_url: {PUBLIC_URL}\nmessaging:\n{messaging_settings}")
    gateway = worker_factory(GatewayService, messaging=MagicMock(), config={"CRM": settings})
    gateway.messaging.record_provider_events.return_value = {"received": 1, "stored": 1, "duplicates": 0}
    return gateway


def _mailjet_request(password: str) -> Request:
    credentials = base64.b64encode(f"mailjet:{password}".encode()).decode()
    return Request(
        EnvironBuilder(
            method="POST",
            path="/webhooks/mailjet",
            data=json.dumps(MAILJET_EVENT),
            content_type="application/json",
            headers={"Authorization": f"Basic {credentials}"},
        ).get_environ()
    )


def _twilio_request(auth_token: str) -> Request:
    path, form = (
        "/webhooks/twilio/status?message_id=sms-1",
        {"MessageSid": "SM1", "MessageStatus": "delivered"},
    )
    signature = RequestValidator(auth_token).compute_signature(PUBLIC_URL + path, form)
    return Request(
        EnvironBuilder(
            method="POST", path=path, data=form, headers={"X-Twilio-Signature": signature}
        ).get_environ()
    )


def test_live_mailjet_callbacks_with_the_sandbox_password_are_refused():
    gateway = _gateway("  sandbox: false\n")
    with pytest.raises(WebhookRefused, match="messaging.mailjet.webhook_password is not set"):
        gateway.mailjet_events(_mailjet_request("sandbox-webhook-password"))
    gateway.messaging.record_provider_events.assert_not_called()


def test_live_mailjet_callbacks_with_our_own_password_are_stored():
    gateway = _gateway("  sandbox: false\n  mailjet:\n    webhook_password: 'j8#Qm2!vR'\n")
    assert gateway.mailjet_events(_mailjet_request("j8#Qm2!vR")).status_code == 200
    gateway.messaging.record_provider_events.assert_called_once()


def test_sandbox_mailjet_callbacks_use_the_sandbox_password():
    gateway = _gateway("  sandbox: true\n")
    assert gateway.mailjet_events(_mailjet_request("sandbox-webhook-password")).status_code == 200


def test_live_twilio_callbacks_signed_with_the_sandbox_token_are_refused():
    gateway = _gateway("  sandbox: false\n")
    with pytest.raises(WebhookRefused, match="messaging.twilio.auth_token is not set"):
        gateway.twilio_status(_twilio_request("sandbox-auth-token"))
    gateway.messaging.record_provider_events.assert_not_called()


def test_live_twilio_callbacks_signed_with_our_own_token_are_stored():
    gateway = _gateway("  sandbox: false\n  twilio:\n    auth_token: 5f1e0c2a9b\n")
    assert gateway.twilio_status(_twilio_request("5f1e0c2a9b")).status_code == 200
