"""Twilio status callbacks: signed by the sandbox with the SDK's helper, verified and parsed by us."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from twilio.rest.api.v2010.account.message import MessageInstance

from emulations.outcomes import TWILIO_FAILING_NUMBER
from providers.base import VOCABULARY, MalformedWebhook, OutgoingSms, WebhookRejected
from providers.twilio_sms import TwilioSms
from providers.twilio_webhooks import (
    STATUSES,
    parse_twilio_status,
    verify_twilio_signature,
)
from tests.sandbox_fixtures import WebhookReceiver

SENDER = "+15005550006"
RECEPTION = "+33612345678"
RECEIVED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


def send_and_collect(sandbox, receiver, to: str) -> tuple[str, list]:
    twilio = TwilioSms(sandbox.twilio_account_sid, sandbox.twilio_auth_token, api_base=sandbox.base_url)
    sid = twilio.send(
        OutgoingSms(to, SENDER, "Chambre 404", receiver.url("/webhooks/twilio"))
    ).provider_message_id
    assert sandbox.wait_for_callbacks(timeout=5)
    return sid, [hook for hook in receiver.received("/webhooks/twilio") if hook.form["MessageSid"] == sid]


def test_callbacks_say_sent_then_delivered_and_carry_a_signature_we_accept(sandbox, receiver):
    sid, callbacks = send_and_collect(sandbox, receiver, RECEPTION)

    for callback in callbacks:
        verify_twilio_signature(
            sandbox.twilio_auth_token, callback.url, callback.form, callback.headers["X-Twilio-Signature"]
        )
    events = [parse_twilio_status(callback.form, RECEIVED_AT) for callback in callbacks]
    assert [(e.status, e.provider_message_id, e.recipient) for e in events] == [
        ("sent", sid, RECEPTION),
        ("delivered", sid, RECEPTION),
    ]
    assert all(callback.headers["X-CRM-Sandbox"] == "true" for callback in callbacks)


def test_failing_number_gets_a_failed_callback_with_error_30008(sandbox, receiver):
    _, callbacks = send_and_collect(sandbox, receiver, TWILIO_FAILING_NUMBER)

    [event] = [parse_twilio_status(callback.form, RECEIVED_AT) for callback in callbacks]
    assert (event.status, event.reason) == ("failed", "30008")


def test_tampered_callback_is_rejected(sandbox, receiver):
    _, callbacks = send_and_collect(sandbox, receiver, RECEPTION)
    callback = callbacks[0]
    tampered = {**callback.form, "MessageStatus": "failed"}

    with pytest.raises(WebhookRejected) as rejected:
        verify_twilio_signature(
            sandbox.twilio_auth_token, callback.url, tampered, callback.headers["X-Twilio-Signature"]
        )
    assert rejected.value.reason == "signature does not match"


def test_callback_replayed_to_another_url_is_rejected(sandbox, receiver):
    _, callbacks = send_and_collect(sandbox, receiver, RECEPTION)
    callback = callbacks[0]

    with pytest.raises(WebhookRejected):
        verify_twilio_signature(
            sandbox.twilio_auth_token,
            callback.url.replace("/webhooks/twilio", "/webhooks/other"),
            callback.form,
            callback.headers["X-Twilio-Signature"],
        )


def test_callback_signed_with_another_token_is_rejected(sandbox, receiver):
    _, callbacks = send_and_collect(sandbox, receiver, RECEPTION)
    callback = callbacks[0]

    with pytest.raises(WebhookRejected):
        verify_twilio_signature(
            "someone-else", callback.url, callback.form, callback.headers["X-Twilio-Signature"]
        )


@pytest.mark.parametrize("signature", [None, ""])
def test_callback_without_signature_is_rejected(signature):
    with pytest.raises(WebhookRejected) as rejected:
        verify_twilio_signature(
            "token", "https://crm.example/webhooks/twilio", {"MessageSid": "SM1"}, signature
        )
    assert "missing" in rejected.value.reason


@pytest.mark.parametrize(
    ("word", "ours"),
    [
        ("accepted", "queued"),
        ("scheduled", "queued"),
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_twilio_status_word_maps_to_ours(word, ours):
    event = parse_twilio_status({"MessageSid": "SM1", "MessageStatus": word}, RECEIVED_AT)

    assert event.status == ours
    assert event.occurred_at == RECEIVED_AT


def test_every_twilio_status_maps_into_the_sms_vocabulary():
    assert (
        set(STATUSES.values()) <= {"queued", "sent", "delivered", "undelivered", "failed"} <= set(VOCABULARY)
    )


def test_same_callback_twice_has_the_same_event_id():
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": RECEPTION}

    first = parse_twilio_status(params, RECEIVED_AT)
    again = parse_twilio_status(dict(params), datetime.now(UTC))

    assert first.provider_event_id == again.provider_event_id == "SM1:delivered"


def test_error_code_and_message_make_the_reason():
    event = parse_twilio_status(
        {
            "MessageSid": "SM1",
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
            "ErrorMessage": "Unreachable",
        },
        RECEIVED_AT,
    )

    assert event.reason == "30003: Unreachable"


def test_unknown_status_word_is_malformed():
    with pytest.raises(MalformedWebhook) as malformed:
        parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "teleported"}, RECEIVED_AT)
    assert "teleported" in malformed.value.reason


def test_callback_without_message_sid_is_malformed():
    with pytest.raises(MalformedWebhook) as malformed:
        parse_twilio_status({"MessageStatus": "sent"}, RECEIVED_AT)
    assert "MessageSid" in malformed.value.reason


def test_every_outbound_status_word_of_the_twilio_sdk_has_ours():
    inbound = {"receiving", "received"}
    words = {value for name, value in vars(MessageInstance.Status).items() if name.isupper()} - inbound
    assert words - set(STATUSES) == set()
