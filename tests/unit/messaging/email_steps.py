"""What the e-mail tests do: set up the organisation's provider, send, make provider events."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.people import ALICE, BOB

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def set_up(messaging, provider="sendgrid", fallback=None, person=ALICE) -> dict:
    settings = {"provider": provider, "sender_email": "ventes@pomme.fr", "sender_name": "Pomme Ventes"}
    if fallback:
        settings["fallback_provider"] = fallback
    return messaging.as_user(person).update_email_settings(settings)


def send(messaging, to="jeanne.dupont@exemple.fr", person=BOB, key=None, **fields) -> dict:
    data = {
        "to": {"email": to, "name": "Jeanne Dupont"},
        "subject": "Votre devis Pomme",
        "text": "Bonjour, voici votre devis.",
        **fields,
    }
    return messaging.as_user(person).send_email(data, key)


def event(message: dict, status: str, at: datetime, provider="sendgrid", **extra) -> dict:
    return {
        "provider": provider,
        "provider_event_id": f"{message['id']}-{status}-{at.timestamp()}",
        "message_id": message["id"],
        "provider_message_id": message["provider_message_id"],
        "status": status,
        "occurred_at": at.isoformat(),
        "raw": {},
        **extra,
    }
