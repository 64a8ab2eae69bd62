"""The provider sandbox as an HTTP service: labels, listing, errors, webhook delivery."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from sendgrid.helpers.eventwebhook import EventWebhook

from emulations.sendgrid import sign_sendgrid_events
from emulations.server import ProviderSandbox
from providers.base import OutgoingSms
from providers.twilio_sms import TwilioSms
from tests.sandbox_fixtures import WebhookReceiver

SENDER = "+15005550006"
RECEPTION = "+33612345678"


def twilio_url(sandbox, account_sid: str | None = None) -> str:
    return f"{sandbox.base_url}/2010-04-01/Accounts/{account_sid or sandbox.twilio_account_sid}/Messages.json"


def twilio_post(sandbox, **form) -> requests.Response:
    auth = (sandbox.twilio_account_sid, sandbox.twilio_auth_token)
    return requests.post(twilio_url(sandbox), data=form, auth=auth, timeout=5)


def test_every_answer_is_labelled_as_the_sandbox(sandbox):
    answers = [
        twilio_post(sandbox, To=RECEPTION, From=SENDER, Body="Bonjour"),
        twilio_post(sandbox, To=RECEPTION, From=SENDER),
        requests.post(f"{sandbox.base_url}/v3/mail/send", json={}, timeout=5),
        requests.post(f"{sandbox.base_url}/v3.1/send", json={}, timeout=5),
        requests.get(f"{sandbox.base_url}/_sandbox/messages", timeout=5),
        requests.get(f"{sandbox.base_url}/nowhere", timeout=5),
    ]

    assert [answer.headers.get("X-CRM-Sandbox") for answer in answers] == ["true"] * len(answers)


def test_messages_list_shows_what_was_accepted(sandbox):
    sid = twilio_post(sandbox, To=RECEPTION, From=SENDER, Body="Chambre 404 prête").json()["sid"]

    listed = requests.get(f"{sandbox.base_url}/_sandbox/messages", timeout=5).json()

    [row] = [row for row in listed if row["provider_message_id"] == sid]
    assert (row["provider"], row["to"], row["body"]) == ("twilio", RECEPTION, "Chambre 404 prête")
    assert [m.provider_message_id for m in sandbox.messages()].count(sid) == 1


def test_twilio_answer_has_the_fields_the_sdk_reads(sandbox):
    answer = twilio_post(sandbox, To=RECEPTION, From=SENDER, Body="é" * 71)

    assert answer.status_code == 201
    document = answer.json()
    assert document["status"] == "queued"
    assert document["num_segments"] == "2"  # not GSM-7: 70 characters a segment, 67 once split
    assert (document["to"], document["from"]) == (RECEPTION, SENDER)


def test_twilio_refuses_another_account_in_the_path_like_twilio(sandbox):
    auth = (sandbox.twilio_account_sid, sandbox.twilio_auth_token)
    answer = requests.post(
        twilio_url(sandbox, "AC" + "1" * 32), data={"To": RECEPTION, "From": SENDER, "Body": "x"}, auth=auth
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == 20003


def test_twilio_names_the_missing_parameter(sandbox):
    answer = twilio_post(sandbox, To=RECEPTION, From=SENDER)

    assert (answer.status_code, answer.json()["code"]) == (400, 21602)


def test_sendgrid_validation_errors_name_their_fields(sandbox):
    answer = requests.post(
        f"{sandbox.base_url}/v3/mail/send",
        json={"personalizations": [{"to": [{"email": "claire@example.fr"}]}], "from": {"email": "a@b.fr"}},
        headers={"Authorization": f"Bearer {sandbox.sendgrid_api_key}"},
        timeout=5,
    )

    assert answer.status_code == 400
    assert {error["field"] for error in answer.json()["errors"]} == {"subject", "content"}


def test_mailjet_refuses_a_body_without_messages_in_its_error_shape(sandbox):
    answer = requests.post(
        f"{sandbox.base_url}/v3.1/send",
        json={"Messages": []},
        auth=(sandbox.mailjet_api_key, sandbox.mailjet_api_secret),
        timeout=5,
    )

    assert answer.status_code == 400
    assert answer.json()["ErrorCode"] == "mj-0002"


def test_no_callbacks_when_they_are_turned_off():
    sandbox = ProviderSandbox(deliver_callbacks=False)
    sandbox.serve()
    try:
        with WebhookReceiver() as receiver:
            twilio = TwilioSms(
                sandbox.twilio_account_sid, sandbox.twilio_auth_token, api_base=sandbox.base_url
            )
            twilio.send(OutgoingSms(RECEPTION, SENDER, "Bonjour", receiver.url("/webhooks/twilio")))

            assert sandbox.wait_for_callbacks(timeout=1)
            assert receiver.received() == []
    finally:
        sandbox.stop()


def test_deliveries_record_how_each_webhook_was_answered():
    sandbox = ProviderSandbox()
    sandbox.serve()
    try:
        with WebhookReceiver() as receiver:
            twilio = TwilioSms(
                sandbox.twilio_account_sid, sandbox.twilio_auth_token, api_base=sandbox.base_url
            )
            twilio.send(OutgoingSms(RECEPTION, SENDER, "Bonjour", receiver.url("/webhooks/twilio")))
            assert sandbox.wait_for_callbacks(timeout=5)
    finally:
        sandbox.stop()

    assert [delivery.status_code for delivery in sandbox.deliveries()] == [200, 200]


def test_sign_sendgrid_events_produces_what_the_sendgrid_sdk_verifies(sandbox):
    body = json.dumps([{"event": "delivered", "email": "claire@example.fr"}]).encode()

    signature = sign_sendgrid_events(sandbox.sendgrid_signing_key, body, "1772443800")

    verifier = EventWebhook(sandbox.sendgrid_public_key)
    assert verifier.verify_signature(body.decode(), signature, "1772443800")
    assert not verifier.verify_signature(body.decode(), signature, "1772443801")
    assert base64.b64decode(signature)  # base64 DER, as SendGrid sends it


def test_serving_twice_is_refused(sandbox):
    with pytest.raises(RuntimeError):
        sandbox.serve()
