"""Dependency providers of the messaging service: the provider clients.

In sandbox mode (``messaging.sandbox``, the laptop default) every SDK points at
the local emulation of Twilio, SendGrid and Mailjet on ``messaging.sandbox_port``,
which ``crm sandbox`` runs (``crm run`` starts it); the emulation posts its
delivery events back to the gateway's webhooks, signed as the providers sign them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

from crm.settings import Settings
from providers.mailjet_mail import MailjetMail
from providers.sendgrid_mail import SendGridMail
from providers.smtp_mail import SmtpMail
from providers.twilio_sms import TwilioSms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderClients:
    """What a worker sees as ``self.providers``."""

    sms: TwilioSms
    email: dict[str, Any]  # "sendgrid" | "mailjet" | "smtp" -> client with .send(OutgoingEmail)
    sandbox_url: str | None


def build_clients(settings: Settings, sandbox_url: str | None) -> ProviderClients:
    messaging = settings.messaging
    twilio, sendgrid, mailjet, smtp = messaging.twilio, messaging.sendgrid, messaging.mailjet, messaging.smtp
    return ProviderClients(
        sms=TwilioSms(
            twilio.account_sid,
            twilio.auth_token,
            sandbox_url or twilio.api_base or None,
            # One connection per worker that may be sending at the same time.
            connections=settings.bus.max_workers,
        ),
        email={
            "sendgrid": SendGridMail(sendgrid.api_key, sandbox_url or sendgrid.api_base or None),
            "mailjet": MailjetMail(
                mailjet.api_key, mailjet.api_secret, sandbox_url or mailjet.api_base or None
            ),
            "smtp": SmtpMail(
                smtp.host, smtp.port, smtp.username or None, smtp.password or None, starttls=smtp.starttls
            ),
        },
        sandbox_url=sandbox_url,
    )


class Providers(DependencyProvider):
    """The provider clients; in sandbox mode they point at the sandbox (``crm sandbox``)."""

    def setup(self) -> None:
        settings: Settings = self.container.config["CRM"]
        sandbox_url = (
            f"http://127.0.0.1:{settings.messaging.sandbox_port}" if settings.messaging.sandbox else None
        )
        self.clients = build_clients(settings, sandbox_url)
        if sandbox_url:
            log.warning(
                "messaging is in SANDBOX mode: SMS and e-mail go to the provider emulation at %s", sandbox_url
            )

    def get_dependency(self, worker_ctx: Any) -> ProviderClients:
        return self.clients
