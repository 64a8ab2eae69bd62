"""Sandbox mode: the provider emulation configured from the deployment's settings.

SendGrid events are signed with ``providers.sandbox_key``, the key the gateway
(another process) verifies them with in sandbox mode.
"""

from __future__ import annotations

from crm.settings import Settings
from emulations.server import ProviderSandbox
from providers.sandbox_key import sandbox_signing_key


def sandbox_for(settings: Settings) -> ProviderSandbox:
    """The emulation, with the deployment's credentials, posting events to the gateway's webhooks."""
    messaging = settings.messaging
    webhooks = settings.webhook_base_url()
    return ProviderSandbox(
        twilio_account_sid=messaging.twilio.account_sid,
        twilio_auth_token=messaging.twilio.auth_token,
        sendgrid_api_key=messaging.sendgrid.api_key,
        mailjet_api_key=messaging.mailjet.api_key,
        mailjet_api_secret=messaging.mailjet.api_secret,
        sendgrid_event_url=f"{webhooks}/webhooks/sendgrid",
        sendgrid_signing_key=sandbox_signing_key(),
        mailjet_event_url=f"{webhooks}/webhooks/mailjet",
        mailjet_event_auth=(messaging.mailjet.webhook_user, messaging.mailjet.webhook_password),
        google_client_id=settings.sync.google.client_id,
        google_client_secret=settings.sync.google.client_secret,
    )
