"""Mailjet event callbacks: basic auth, single and grouped events, the word table."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from emulations.outcomes import BOUNCE_DOMAIN
from emulations.server import ProviderSandbox
from providers.base import VOCABULARY, MalformedWebhook, OutgoingEmail, WebhookRejected
from providers.mailjet_mail import MailjetMail
from providers.mailjet_webhooks import (
    EVENTS,
    parse_mailjet_events,
    verify_mailjet_basic_auth,
)
from tests.sandbox_fixtures import WebhookReceiver

WEBHOOK_USER, WEBHOOK_PASSWORD = "mailjet", "mot-de-passe:avec-deux-points"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def sandbox(receiver):
    sandbox = ProviderSandbox(
        mailjet_event_url=receiver.url("/webhooks/mailjet"),
        mailjet_event_auth=(WEBHOOK_USER, WEBHOOK_PASSWORD),
    )
    sandbox.serve()
    yield sandbox
    sandbox.stop()


def test_sandbox_events_carry_our_credentials_and_map_back_to_our_message(sandbox, receiver):
    mailjet = MailjetMail(sandbox.mailjet_api_key, sandbox.mailjet_api_secret, sandbox.base_url)
    delivered = mailjet.send(
        OutgoingEmail(
            "msg-mj-1", "reservations@pomme-siege.fr", None, "claire@example.fr", None, "S", "T", None
        )
    )
    bounced = mailjet.send(
        OutgoingEmail(
            "msg-mj-2", "reservations@pomme-siege.fr", None, f"x@{BOUNCE_DOMAIN}", None, "S", "T", None
        )
    )
    assert sandbox.wait_for_callbacks(timeout=5)

    webhooks = receiver.received("/webhooks/mailjet")
    for webhook in webhooks:
        verify_mailjet_basic_auth(WEBHOOK_USER, WEBHOOK_PASSWORD, webhook.headers.get("Authorization"))
    events = {e.message_id: e for webhook in webhooks for e in parse_mailjet_events(webhook.body)}
    assert (events["msg-mj-1"].status, events["msg-mj-1"].provider_message_id) == (
        "delivered",
        delivered.provider_message_id,
    )
    assert (events["msg-mj-2"].status, events["msg-mj-2"].bounce_kind) == ("bounced", "hard")
    assert events["msg-mj-2"].provider_message_id == bounced.provider_message_id


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authorization header is missing"),
        ("Bearer abc", "Authorization is not basic auth"),
        ("Basic ???", "Authorization is not valid base64"),
        (basic(WEBHOOK_USER, "devine"), "user or password does not match"),
        (basic("intrus", WEBHOOK_PASSWORD), "user or password does not match"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "user or password does not match"),
    ],
)
def test_callback_without_our_credentials_is_rejected(header, reason):
    with pytest.raises(WebhookRejected) as rejected:
        verify_mailjet_basic_auth(WEBHOOK_USER, WEBHOOK_PASSWORD, header)
    assert rejected.value.reason == reason


def test_callback_with_our_credentials_is_accepted():
    verify_mailjet_basic_auth(WEBHOOK_USER, WEBHOOK_PASSWORD, basic(WEBHOOK_USER, WEBHOOK_PASSWORD))


def event(word: str, **fields) -> dict:
    return {
        "event": word,
        "time": 1772443800,
        "MessageID": 19421777835146490,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "email": "claire.martin@example.fr",
        "mj_campaign_id": 0,
        "mj_contact_id": 0,
        "customcampaign": "",
        "CustomID": "msg-42",
        "Payload": json.dumps({"crm_message_id": "msg-42"}),
        **fields,
    }


def test_single_event_object_parses():
    [parsed] = parse_mailjet_events(json.dumps(event("sent", smtp_reply="250 OK")).encode())

    assert parsed.status == "delivered"
    assert parsed.message_id == "msg-42"
    assert parsed.provider_message_id == "19421777835146490"
    assert parsed.recipient == "claire.martin@example.fr"
    assert parsed.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert parsed.reason == "250 OK"


def test_grouped_events_parse_in_order():
    body = json.dumps(
        [event("sent"), event("open"), event("click", url="https://pomme-siege.fr/plan")]
    ).encode()

    parsed = parse_mailjet_events(body)

    assert [e.status for e in parsed] == ["delivered", "opened", "clicked"]
    assert parsed[-1].url == "https://pomme-siege.fr/plan"


@pytest.mark.parametrize(
    ("word", "fields", "ours", "bounce_kind"),
    [
        ("sent", {}, "delivered", None),
        ("open", {}, "opened", None),
        ("click", {"url": "https://pomme-siege.fr"}, "clicked", None),
        (
            "bounce",
            {"hard_bounce": True, "error_related_to": "recipient", "error": "user unknown"},
            "bounced",
            "hard",
        ),
        (
            "bounce",
            {"hard_bounce": False, "error_related_to": "mailbox", "error": "mailbox full"},
            "bounced",
            "soft",
        ),
        ("blocked", {"error_related_to": "content", "error": "spam"}, "rejected", None),
        ("spam", {"source": "JMRPP"}, "complained", None),
        ("unsub", {"mj_list_id": 1}, "unsubscribed", None),
    ],
)
def test_mailjet_event_word_maps_to_ours(word, fields, ours, bounce_kind):
    [parsed] = parse_mailjet_events(json.dumps(event(word, **fields)).encode())

    assert (parsed.status, parsed.bounce_kind) == (ours, bounce_kind)


def test_every_mailjet_word_maps_into_our_vocabulary():
    assert set(EVENTS.values()) <= set(VOCABULARY)


def test_bounce_reason_names_what_failed():
    [parsed] = parse_mailjet_events(
        json.dumps(
            event("bounce", hard_bounce=True, error_related_to="recipient", error="user unknown")
        ).encode()
    )

    assert parsed.reason == "recipient: user unknown"


def test_our_id_comes_from_the_payload_when_custom_id_is_empty():
    [parsed] = parse_mailjet_events(json.dumps(event("open", CustomID="")).encode())

    assert parsed.message_id == "msg-42"


def test_same_event_resent_has_the_same_event_id_and_another_event_another():
    first = parse_mailjet_events(json.dumps(event("open")).encode())[0]
    again = parse_mailjet_events(json.dumps(event("open"), indent=2).encode())[0]
    later = parse_mailjet_events(json.dumps(event("open", time=1772443801)).encode())[0]

    assert first.provider_event_id == again.provider_event_id
    assert first.provider_event_id != later.provider_event_id


def test_unknown_event_word_is_set_aside_and_the_rest_is_kept():
    parsed = parse_mailjet_events(json.dumps([event("resubscribed"), event("open")]).encode())

    assert [e.status for e in parsed] == ["opened"]
    assert [raw["event"] for raw in parsed.ignored] == ["resubscribed"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"{", "not JSON"),
        (b"42", "neither an event object nor an array"),
        (b'["sent"]', "#0 is not a JSON object"),
        (json.dumps({"event": "sent", "email": "a@b.fr"}).encode(), "lacks time"),
        (json.dumps(event("sent", time="hier")).encode(), "time"),
    ],
)
def test_malformed_body_says_what_is_wrong(body, complaint):
    with pytest.raises(MalformedWebhook) as malformed:
        parse_mailjet_events(body)
    assert complaint in malformed.value.reason
