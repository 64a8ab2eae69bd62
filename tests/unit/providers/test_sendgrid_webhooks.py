"""SendGrid's signed Event Webhook: the sandbox signs like SendGrid, we verify and parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulations.outcomes import BOUNCE_DOMAIN
from emulations.sendgrid import sign_sendgrid_events
from emulations.server import ProviderSandbox
from providers.base import VOCABULARY, MalformedWebhook, OutgoingEmail, WebhookRejected
from providers.sandbox_key import public_key_b64
from providers.sendgrid_mail import SendGridMail
from providers.sendgrid_webhooks import (
    EVENTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_sendgrid_events,
    verify_sendgrid_signature,
)
from tests.sandbox_fixtures import WebhookReceiver

WINDOW = 300


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def sandbox(receiver):
    sandbox = ProviderSandbox(sendgrid_event_url=receiver.url("/webhooks/sendgrid"))
    sandbox.serve()
    yield sandbox
    sandbox.stop()


def send_and_collect(sandbox, receiver, message_id: str, to_email: str):
    email = OutgoingEmail(
        message_id, "reservations@pomme-siege.fr", None, to_email, None, "Chambre 404", "Bienvenue", None
    )
    SendGridMail(sandbox.sendgrid_api_key, sandbox.base_url).send(email)
    assert sandbox.wait_for_callbacks(timeout=5)
    [webhook] = [hook for hook in receiver.received("/webhooks/sendgrid") if message_id.encode() in hook.body]
    return webhook


def verify(sandbox, webhook, *, body=None, signature="unchanged", timestamp="unchanged", now=None):
    verify_sendgrid_signature(
        sandbox.sendgrid_public_key,
        webhook.body if body is None else body,
        webhook.headers.get(SIGNATURE_HEADER) if signature == "unchanged" else signature,
        webhook.headers.get(TIMESTAMP_HEADER) if timestamp == "unchanged" else timestamp,
        now or datetime.now(UTC),
        WINDOW,
    )


def test_delivered_email_events_verify_with_the_sandbox_public_key_and_map_back(sandbox, receiver):
    webhook = send_and_collect(sandbox, receiver, "msg-sg-delivered", "claire.martin@example.fr")

    verify(sandbox, webhook)
    events = parse_sendgrid_events(webhook.body)

    [accepted] = [m for m in sandbox.messages() if m.crm_message_id == "msg-sg-delivered"]
    assert [e.status for e in events] == ["queued", "delivered"]
    assert {e.message_id for e in events} == {"msg-sg-delivered"}
    assert {e.provider_message_id for e in events} == {accepted.provider_message_id}  # ".filter..." stripped
    assert {e.recipient for e in events} == {"claire.martin@example.fr"}
    assert events.ignored == []


def test_bounce_address_gets_a_hard_bounce_event(sandbox, receiver):
    webhook = send_and_collect(sandbox, receiver, "msg-sg-bounce", f"personne@{BOUNCE_DOMAIN}")

    verify(sandbox, webhook)
    bounce = parse_sendgrid_events(webhook.body)[-1]

    assert (bounce.status, bounce.bounce_kind) == ("bounced", "hard")
    assert bounce.reason.startswith("550 5.1.1")


def test_modified_body_is_rejected(sandbox, receiver):
    webhook = send_and_collect(sandbox, receiver, "msg-sg-tampered", "claire.martin@example.fr")
    tampered = webhook.body.replace(b'"delivered"', b'"bounce"')

    with pytest.raises(WebhookRejected) as rejected:
        verify(sandbox, webhook, body=tampered)
    assert rejected.value.reason == "signature does not match"


@pytest.mark.parametrize("offset", [timedelta(seconds=WINDOW + 60), -timedelta(seconds=WINDOW + 60)])
def test_timestamp_outside_the_window_either_way_is_rejected(sandbox, receiver, offset):
    webhook = send_and_collect(sandbox, receiver, f"msg-sg-stale-{offset.days}", "claire.martin@example.fr")

    with pytest.raises(WebhookRejected) as rejected:
        verify(sandbox, webhook, now=datetime.now(UTC) + offset)
    assert rejected.value.reason == "timestamp outside the replay window"


def test_timestamp_swapped_for_a_fresh_one_is_rejected(sandbox, receiver):
    webhook = send_and_collect(sandbox, receiver, "msg-sg-swapped", "claire.martin@example.fr")
    fresh = str(int(webhook.headers[TIMESTAMP_HEADER]) + 1)

    with pytest.raises(WebhookRejected) as rejected:
        verify(sandbox, webhook, timestamp=fresh)
    assert rejected.value.reason == "signature does not match"


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ("signature", SIGNATURE_HEADER + " header is missing"),
        ("timestamp", TIMESTAMP_HEADER + " header is missing"),
    ],
)
def test_missing_header_is_rejected(sandbox, receiver, missing, reason):
    webhook = send_and_collect(sandbox, receiver, f"msg-sg-no-{missing}", "claire.martin@example.fr")

    with pytest.raises(WebhookRejected) as rejected:
        verify(sandbox, webhook, **{missing: None})
    assert rejected.value.reason == reason


def test_events_signed_by_another_key_are_rejected():
    other_key = ec.generate_private_key(ec.SECP256R1())
    our_key = ec.generate_private_key(ec.SECP256R1())
    body, timestamp = b"[]", str(int(datetime.now(UTC).timestamp()))

    with pytest.raises(WebhookRejected):
        verify_sendgrid_signature(
            public_key_b64(our_key),
            body,
            sign_sendgrid_events(other_key, body, timestamp),
            timestamp,
            datetime.now(UTC),
            WINDOW,
        )


def test_signature_that_is_not_base64_is_rejected():
    key = ec.generate_private_key(ec.SECP256R1())
    timestamp = str(int(datetime.now(UTC).timestamp()))

    with pytest.raises(WebhookRejected):
        verify_sendgrid_signature(public_key_b64(key), b"[]", "%%%", timestamp, datetime.now(UTC), WINDOW)


def event(word: str, **fields) -> dict:
    return {
        "email": "claire.martin@example.fr",
        "timestamp": 1772443800,
        "event": word,
        "sg_event_id": f"evt-{word}",
        "sg_message_id": "W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "crm_message_id": "msg-42",
        **fields,
    }


@pytest.mark.parametrize(
    ("word", "fields", "ours", "bounce_kind"),
    [
        ("processed", {}, "queued", None),
        ("deferred", {"response": "421 try later"}, "deferred", None),
        ("delivered", {"response": "250 OK"}, "delivered", None),
        ("open", {}, "opened", None),
        ("click", {"url": "https://pomme-siege.fr/plan"}, "clicked", None),
        ("bounce", {"type": "bounce"}, "bounced", "hard"),
        ("bounce", {"type": "blocked"}, "bounced", "soft"),
        ("dropped", {"reason": "Bounced Address"}, "rejected", None),
        ("spamreport", {}, "complained", None),
        ("unsubscribe", {}, "unsubscribed", None),
        ("group_unsubscribe", {"asm_group_id": 1}, "unsubscribed", None),
    ],
)
def test_sendgrid_event_word_maps_to_ours(word, fields, ours, bounce_kind):
    [parsed] = parse_sendgrid_events(json.dumps([event(word, **fields)]).encode())

    assert (parsed.status, parsed.bounce_kind) == (ours, bounce_kind)
    assert parsed.message_id == "msg-42"
    assert parsed.provider_message_id == "W86EgYT6SQKk0lRflfLRsA"
    assert parsed.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_every_sendgrid_word_maps_into_our_vocabulary():
    assert set(EVENTS.values()) <= set(VOCABULARY)


def test_reason_and_url_come_from_the_event():
    dropped, clicked = parse_sendgrid_events(
        json.dumps(
            [event("dropped", reason="Bounced Address"), event("click", url="https://x.fr/a")]
        ).encode()
    )

    assert dropped.reason == "Bounced Address"
    assert clicked.url == "https://x.fr/a"


def test_same_event_resent_has_the_same_event_id():
    body = json.dumps([event("delivered")]).encode()

    assert (
        parse_sendgrid_events(body)[0].provider_event_id == parse_sendgrid_events(body)[0].provider_event_id
    )


def test_unknown_event_word_is_set_aside_and_the_rest_is_kept():
    parsed = parse_sendgrid_events(json.dumps([event("group_resubscribe"), event("delivered")]).encode())

    assert [e.status for e in parsed] == ["delivered"]
    assert [raw["event"] for raw in parsed.ignored] == ["group_resubscribe"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b'"a string"', "neither an event object nor an array"),
        (b"[1]", "#0 is not a JSON object"),
        (json.dumps([{"event": "delivered"}]).encode(), "lacks email, timestamp, sg_event_id"),
        (json.dumps([event("delivered", timestamp="yesterday")]).encode(), "timestamp"),
    ],
)
def test_malformed_body_says_what_is_wrong(body, complaint):
    with pytest.raises(MalformedWebhook) as malformed:
        parse_sendgrid_events(body)
    assert complaint in malformed.value.reason
