"""Sandbox mode: the provider emulation configured from the deployment's settings.

The emulation signs SendGrid events with a key derived from a fixed phrase, so
that the gateway (another process) verifies them without sharing any state.
That key protects nothing: it is for the sandbox only, never for live traffic.
"""

from __future__ import annotations

import hashlib
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec

from crm.settings import Settings
from services.messaging.sandbox import ProviderSandbox, public_key_b64

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@cache
def sandbox_signing_key() -> ec.EllipticCurvePrivateKey:
    seed = int.from_bytes(hashlib.sha256(b"crm provider sandbox, not a secret").digest(), "big")
    return ec.derive_private_key(seed % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def sandbox_sendgrid_public_key() -> str:
    return public_key_b64(sandbox_signing_key())


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
    )
