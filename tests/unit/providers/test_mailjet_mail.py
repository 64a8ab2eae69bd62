"""The Mailjet sender drives the real mailjet-rest SDK against the sandbox over HTTP."""

from __future__ import annotations

import pytest

from providers.base import Attachment, OutgoingEmail, ProviderError
from providers.mailjet_mail import MailjetMail
from tests.sandbox_fixtures import closed_port_url, silent_api_url


@pytest.fixture
def mailjet(sandbox) -> MailjetMail:
    return MailjetMail(sandbox.mailjet_api_key, sandbox.mailjet_api_secret, sandbox.base_url)


def booking_email(message_id: str, **changes) -> OutgoingEmail:
    fields = {
        "message_id": message_id,
        "sender_email": "reservations@pomme-siege.fr",
        "sender_name": "Pomme Siège Central",
        "to_email": "claire.martin@example.fr",
        "to_name": "Claire Martin",
        "subject": "Votre chambre 404",
        "text": "La chambre 404 vous attend.",
        "html": None,
        **changes,
    }
    return OutgoingEmail(**fields)


def test_sent_email_has_our_id_as_custom_id_and_the_recipient_message_id(sandbox, mailjet):
    accepted = mailjet.send(
        booking_email(
            "msg-mailjet-1",
            reply_to="accueil@pomme-siege.fr",
            attachments=(Attachment("plan.pdf", "application/pdf", b"%PDF-1.4"),),
        )
    )

    [stored] = [m for m in sandbox.messages() if m.crm_message_id == "msg-mailjet-1"]
    assert accepted.provider == "mailjet" and accepted.status == "queued"
    assert accepted.provider_message_id == stored.provider_message_id
    assert accepted.provider_message_id.isdigit()
    assert (stored.to, stored.subject, stored.body) == (
        "claire.martin@example.fr",
        "Votre chambre 404",
        "La chambre 404 vous attend.",
    )
    assert (stored.reply_to, stored.attachments) == ("accueil@pomme-siege.fr", ("plan.pdf",))


def test_wrong_credentials_are_refused_for_good(sandbox):
    with pytest.raises(ProviderError) as refused:
        MailjetMail("wrong-key", "wrong-secret", sandbox.base_url).send(booking_email("msg-mailjet-2"))

    assert refused.value.retryable is False
    assert refused.value.code == "401"


def test_invalid_recipient_is_refused_for_good_with_mailjet_reason(mailjet):
    with pytest.raises(ProviderError) as refused:
        mailjet.send(booking_email("msg-mailjet-3", to_email="chambre-404"))

    assert refused.value.retryable is False
    assert "is an invalid email address" in refused.value.reason


def test_unreachable_api_is_worth_retrying():
    with pytest.raises(ProviderError) as failed:
        MailjetMail("key", "secret", closed_port_url(), timeout=2).send(booking_email("msg-mailjet-4"))

    assert failed.value.retryable is True
    assert failed.value.outcome_unknown is False  # the request never left: a fallback may send it


def test_an_api_that_takes_the_request_and_never_answers_leaves_the_outcome_unknown():
    with silent_api_url() as url, pytest.raises(ProviderError) as failed:
        MailjetMail("key", "secret", url, timeout=0.5).send(booking_email("msg-mailjet-5"))

    assert (failed.value.retryable, failed.value.outcome_unknown) == (True, True)
