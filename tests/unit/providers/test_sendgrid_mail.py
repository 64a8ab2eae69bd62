"""The SendGrid sender drives the real sendgrid SDK against the sandbox over HTTP."""

from __future__ import annotations

import pytest

from providers.base import Attachment, OutgoingEmail, ProviderError
from providers.sendgrid_mail import SendGridMail
from tests.sandbox_fixtures import closed_port_url, silent_api_url


def booking_email(message_id: str, **changes) -> OutgoingEmail:
    fields = {
        "message_id": message_id,
        "sender_email": "reservations@pomme-siege.fr",
        "sender_name": "Pomme Siège Central",
        "to_email": "claire.martin@example.fr",
        "to_name": "Claire Martin",
        "subject": "Votre chambre 404",
        "text": "La chambre 404 vous attend.",
        "html": "<p>La chambre 404 vous attend.</p>",
        **changes,
    }
    return OutgoingEmail(**fields)


def test_sent_email_carries_our_message_id_in_custom_args(sandbox):
    accepted = SendGridMail(sandbox.sendgrid_api_key, sandbox.base_url).send(
        booking_email(
            "msg-sendgrid-1",
            reply_to="accueil@pomme-siege.fr",
            attachments=(Attachment("plan.pdf", "application/pdf", b"%PDF-1.4"),),
        )
    )

    [stored] = [m for m in sandbox.messages() if m.crm_message_id == "msg-sendgrid-1"]
    assert accepted.provider == "sendgrid" and accepted.status == "queued"
    assert stored.provider_message_id == accepted.provider_message_id  # the X-Message-Id header
    assert (stored.to, stored.sender, stored.subject) == (
        "claire.martin@example.fr",
        "reservations@pomme-siege.fr",
        "Votre chambre 404",
    )
    assert stored.body == "La chambre 404 vous attend."
    assert stored.html == "<p>La chambre 404 vous attend.</p>"
    assert stored.reply_to == "accueil@pomme-siege.fr"
    assert stored.attachments == ("plan.pdf",)


def test_html_only_email_is_accepted(sandbox):
    SendGridMail(sandbox.sendgrid_api_key, sandbox.base_url).send(
        booking_email("msg-sendgrid-html", text=None)
    )

    [stored] = [m for m in sandbox.messages() if m.crm_message_id == "msg-sendgrid-html"]
    assert (stored.body, stored.html) == (None, "<p>La chambre 404 vous attend.</p>")


def test_wrong_api_key_is_refused_for_good(sandbox):
    with pytest.raises(ProviderError) as refused:
        SendGridMail("SG.wrong", sandbox.base_url).send(booking_email("msg-sendgrid-2"))

    assert refused.value.retryable is False
    assert refused.value.code == "401"


def test_email_without_any_content_is_refused_for_good_naming_the_field(sandbox):
    with pytest.raises(ProviderError) as refused:
        SendGridMail(sandbox.sendgrid_api_key, sandbox.base_url).send(
            booking_email("msg-sendgrid-3", text=None, html=None)
        )

    assert refused.value.retryable is False
    assert refused.value.reason.startswith("HTTP 400: content:")


def test_unreachable_api_is_worth_retrying():
    with pytest.raises(ProviderError) as failed:
        SendGridMail("SG.sandbox", closed_port_url()).send(booking_email("msg-sendgrid-4"))

    assert failed.value.retryable is True
    assert failed.value.outcome_unknown is False  # the request never left: a fallback may send it


def test_an_api_that_takes_the_request_and_never_answers_leaves_the_outcome_unknown():
    with silent_api_url() as url, pytest.raises(ProviderError) as failed:
        SendGridMail("SG.sandbox", url, timeout=0.5).send(booking_email("msg-sendgrid-5"))

    assert (failed.value.retryable, failed.value.outcome_unknown) == (True, True)
