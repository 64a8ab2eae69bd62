"""The provider layer: one adapter per SMS or e-mail provider, all speaking ``base``.

``<provider>_sms`` / ``<provider>_mail`` send through the provider's official
SDK (messaging sends with them); ``<provider>_webhooks`` verify and parse the
provider's callbacks into ``ProviderEvent`` values (the gateway receives with
them). Neither service owns this vocabulary, so it lives apart from both; it
imports nothing but plumbing. The ``emulations`` package emulates the
providers' HTTP APIs for tests and sandbox mode.
"""

from .base import (
    VOCABULARY,
    Accepted,
    Attachment,
    MalformedWebhook,
    OutgoingEmail,
    OutgoingSms,
    ParsedEvents,
    ProviderError,
    ProviderEvent,
    WebhookRejected,
)

__all__ = [
    "VOCABULARY",
    "Accepted",
    "Attachment",
    "MalformedWebhook",
    "OutgoingEmail",
    "OutgoingSms",
    "ParsedEvents",
    "ProviderError",
    "ProviderEvent",
    "WebhookRejected",
]
