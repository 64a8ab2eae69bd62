"""Secrets whose default anyone can read in this repository, refused when the system runs live.

Live means ``messaging.sandbox: false``: real providers, real users. A secret still at a
value published here (RabbitMQ's ``guest``, the ``crm`` password of the old compose file,
the sandbox's webhook secrets and SendGrid signing key, no key passphrase at all) would
let anyone who read the code in, so every process refuses to start instead (the CLI turns
each finding into one line naming the setting).

Outgoing credentials (``messaging.sendgrid.api_key`` and the like) are not listed: a
published value opens nothing, the provider refuses it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crm.service_settings import MailjetSettings, TwilioSettings
from providers.sandbox_key import sandbox_sendgrid_public_key

# Passwords this repository publishes: RabbitMQ's own default user, the settings' default
# broker URL, and the compose file and README before issue 19.
PUBLISHED_PASSWORDS = frozenset({"guest", "crm"})


def published_defaults(settings: Any) -> list[str]:
    """What is still at a published default, one ``setting: why`` each; empty in sandbox mode."""
    if settings.messaging.sandbox:
        return []
    found = []
    for url in settings.amqp_uri.split(";"):
        if _password(url) in PUBLISHED_PASSWORDS:
            found.append(f"amqp_uri: RabbitMQ password {_password(url)!r} is a published default")
    database_password = _password(settings.database.url)
    if database_password in PUBLISHED_PASSWORDS:
        found.append(f"database.url: password {database_password!r} is a published default")
    if not settings.auth.key_passphrase:
        found.append("auth.key_passphrase: empty, the token signing keys would be stored unencrypted")
    messaging = settings.messaging
    if messaging.twilio.auth_token == TwilioSettings.model_fields["auth_token"].default:
        found.append(
            "messaging.twilio.auth_token: the sandbox's, anyone could sign Twilio webhooks "
            "(set your account's token; if you do not use Twilio, any value of your own)"
        )
    if messaging.mailjet.webhook_password == MailjetSettings.model_fields["webhook_password"].default:
        found.append(
            "messaging.mailjet.webhook_password: the sandbox's, anyone could post Mailjet events "
            "(set one of your own, even if you do not use Mailjet)"
        )
    if messaging.sendgrid.webhook_public_key and _is_sandbox_sendgrid_key(
        messaging.sendgrid.webhook_public_key
    ):
        found.append(
            "messaging.sendgrid.webhook_public_key: the sandbox's, its private key is in this repository"
        )
    return found


def _password(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).password
    except ValueError:  # an unreadable URL is the settings' or the driver's to report
        return None


def _is_sandbox_sendgrid_key(configured: str) -> bool:
    return "".join(configured.split()) == sandbox_sendgrid_public_key()
