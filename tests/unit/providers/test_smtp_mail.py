"""The SMTP sender drives smtplib against a minimal SMTP relay on a real port."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from providers.base import Attachment, OutgoingEmail, ProviderError
from providers.smtp_mail import SmtpMail
from tests.sandbox_fixtures import closed_port_url
from tests.smtp_relay import SmtpRelay


@pytest.fixture(scope="module")
def relay():
    relay = SmtpRelay()
    relay.start()
    yield relay
    relay.stop()


def booking_email(message_id: str, to_email: str = "claire.martin@example.fr") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        sender_email="reservations@pomme-siege.fr",
        sender_name="Pomme Siège Central",
        to_email=to_email,
        to_name="Claire Martin",
        subject="Votre chambre 404",
        text="La chambre 404 vous attend.",
        html="<p>La chambre 404 vous attend.</p>",
        reply_to="accueil@pomme-siege.fr",
        attachments=(Attachment("plan.pdf", "application/pdf", b"%PDF-1.4"),),
    )


def test_relay_receives_the_message_with_our_id_and_the_message_id_we_return(relay):
    accepted = SmtpMail("127.0.0.1", relay.server_address[1]).send(booking_email("msg-smtp-1"))

    recipients, data = relay.received[-1]
    message = message_from_bytes(data, policy=policy.default)
    assert recipients == ["claire.martin@example.fr"]
    assert message["X-CRM-Message-Id"] == "msg-smtp-1"
    assert message["Message-ID"] == accepted.provider_message_id
    assert accepted.provider_message_id.endswith("@pomme-siege.fr>")
    assert str(message["From"]) == "Pomme Siège Central <reservations@pomme-siege.fr>"
    assert message["Reply-To"] == "accueil@pomme-siege.fr"
    assert message.get_body(("plain",)).get_content().strip() == "La chambre 404 vous attend."
    assert message.get_body(("html",)).get_content().strip() == "<p>La chambre 404 vous attend.</p>"
    assert [part.get_filename() for part in message.iter_attachments()] == ["plan.pdf"]


def test_recipient_refused_for_good_is_not_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1]).send(
            booking_email("msg-smtp-2", "inconnu@pomme-siege.fr")
        )

    assert (refused.value.retryable, refused.value.code) == (False, "550")
    assert "No such user" in refused.value.reason


def test_recipient_refused_for_now_is_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1]).send(
            booking_email("msg-smtp-3", "occupe@pomme-siege.fr")
        )

    assert (refused.value.retryable, refused.value.code) == (True, "450")


def test_unreachable_relay_is_retryable():
    port = int(closed_port_url().rsplit(":", 1)[1])

    with pytest.raises(ProviderError) as failed:
        SmtpMail("127.0.0.1", port, timeout=2).send(booking_email("msg-smtp-4"))

    assert failed.value.retryable is True


def test_starttls_asked_of_a_relay_without_it_is_not_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1], starttls=True).send(booking_email("msg-smtp-5"))

    assert refused.value.retryable is False
