"""Provider events applied to their messages: forward only, and never from outside the webhook window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.messaging.models import ProviderEvent
from services.messaging.provider_events import is_stale
from tests.people import BOB

from .email_steps import event
from .email_steps import send as send_email
from .email_steps import set_up as set_up_email
from .sms_steps import buy, code_for
from .sms_steps import send as send_sms
from .test_sms import twilio_callback

NOW = datetime.now(UTC)


def _sms_callbacks(messaging, sms: dict, *steps: tuple[int, str]) -> None:
    """Twilio's callbacks for the SMS, one at a time, each applied before the next arrives."""
    for seconds, status in steps:
        callback = twilio_callback(
            sms["id"], status, NOW + timedelta(seconds=seconds), sms["provider_message_id"]
        )
        if status in ("failed", "undelivered"):
            callback["reason"] = "30008: Unknown error"
        messaging.system().record_provider_events([callback])
        messaging.apply_events()


def _outcome(messaging, status: str) -> str:
    with messaging.db.read() as session:
        return session.query(ProviderEvent.outcome).filter(ProviderEvent.status == status).scalar()


# -- SMS: a replayed callback never moves a message backwards ---------------------------------


def test_a_failed_callback_after_delivered_neither_moves_the_sms_back_nor_refunds_it(messaging):
    buy(messaging, 10)
    sms = send_sms(messaging, code_for(messaging))
    _sms_callbacks(messaging, sms, (0, "sent"), (1, "delivered"), (60, "failed"))

    shown = messaging.as_user(BOB).get_sms(sms["id"])
    assert (shown["status"], shown["error"]) == ("delivered", None)
    assert messaging.as_user(BOB).get_credits()["balance"] == 9
    assert messaging.count("credit_entries") == 2  # the purchase and the debit: no refund
    assert messaging.events("sms_failed") == []
    assert _outcome(messaging, "failed") == "older"  # kept as an event, applied to nothing


def test_a_failed_callback_after_undelivered_does_not_refund_the_sms(messaging):
    buy(messaging, 10)
    sms = send_sms(messaging, code_for(messaging))
    _sms_callbacks(messaging, sms, (0, "undelivered"), (60, "failed"))

    assert messaging.as_user(BOB).get_sms(sms["id"])["status"] == "undelivered"
    assert messaging.as_user(BOB).get_credits()["balance"] == 9  # Twilio charged for it


def test_an_undelivered_callback_after_delivered_changes_nothing(messaging):
    buy(messaging, 10)
    sms = send_sms(messaging, code_for(messaging))
    _sms_callbacks(messaging, sms, (0, "delivered"), (60, "undelivered"), (120, "sent"))

    assert messaging.as_user(BOB).get_sms(sms["id"])["status"] == "delivered"
    assert [e["record"]["status"] for e in messaging.events("sms_status_changed")] == ["delivered"]


# -- e-mail: the same order, from SendGrid and Mailjet alike ------------------------------------


@pytest.mark.parametrize("provider", ["sendgrid", "mailjet"])
def test_a_bounce_or_deferral_after_delivered_does_not_move_the_email_back(messaging, provider):
    set_up_email(messaging, provider=provider)
    sent = send_email(messaging)
    system = messaging.system()
    system.record_provider_events([event(sent, "delivered", NOW, provider)])
    messaging.apply_events()
    later = NOW + timedelta(minutes=1)
    system.record_provider_events([event(sent, "bounced", later, provider, bounce_kind="soft")])
    system.record_provider_events([event(sent, "deferred", later + timedelta(seconds=1), provider)])
    messaging.apply_events()

    shown = messaging.as_user(BOB).get_email(sent["id"])
    assert (shown["status"], shown["error"]) == ("delivered", None)
    assert [step["status"] for step in shown["timeline"]] == ["delivered", "bounced", "deferred"]


def test_an_unsubscribe_after_a_complaint_leaves_the_complaint(messaging):
    set_up_email(messaging)
    sent = send_email(messaging)
    system = messaging.system()
    system.record_provider_events([event(sent, "complained", NOW)])
    system.record_provider_events([event(sent, "unsubscribed", NOW + timedelta(minutes=1))])
    messaging.apply_events()
    assert messaging.as_user(BOB).get_email(sent["id"])["status"] == "complained"


# -- Mailjet: no signed time, so events are checked by their own ---------------------------------


def test_a_mailjet_event_older_than_the_webhook_window_is_stored_and_never_applied(messaging, caplog):
    set_up_email(messaging, provider="mailjet")
    sent = send_email(messaging, to="inconnu@exemple.fr")
    month_ago = NOW - timedelta(days=30)
    replayed = [
        event(sent, "bounced", month_ago, "mailjet", bounce_kind="hard", reason="550 user unknown"),
        event(sent, "delivered", month_ago - timedelta(minutes=1), "mailjet"),
    ]

    with caplog.at_level("WARNING", logger="services.messaging.provider_events"):
        answer = messaging.system().record_provider_events(replayed)
    messaging.apply_events()

    assert answer["stored"] == 2
    assert (_outcome(messaging, "bounced"), _outcome(messaging, "delivered")) == ("stale", "stale")
    assert messaging.as_user(BOB).get_email(sent["id"])["status"] == "queued"
    assert messaging.as_user(BOB).list_suppressions() == []  # the address still receives mail
    assert send_email(messaging, to="inconnu@exemple.fr")["status"] == "queued"
    assert messaging.events("email_status_changed") == []
    [line] = [r for r in caplog.records if r.name == "services.messaging.provider_events"]
    assert "2 mailjet event(s) stamped outside the 600 s webhook window" in line.getMessage()
    assert line.exc_info is None


def test_a_mailjet_event_within_the_window_is_applied_and_a_sendgrid_one_by_its_signed_request(messaging):
    window = messaging.settings.messaging.webhook_max_age_seconds
    set_up_email(messaging, provider="mailjet")
    by_mailjet = send_email(messaging, to="jeanne.dupont@exemple.fr")
    set_up_email(messaging, provider="sendgrid")
    by_sendgrid = send_email(messaging, to="paul.martin@exemple.fr")
    # Now, not NOW (taken at import): in a long run, NOW minus nine minutes is past the window.
    recent = datetime.now(UTC) - timedelta(seconds=window - 60)
    # SendGrid retries a day-old event in a freshly signed request: the gateway checked that request.
    day_old = NOW - timedelta(days=1)
    messaging.system().record_provider_events(
        [event(by_mailjet, "delivered", recent, "mailjet"), event(by_sendgrid, "delivered", day_old)]
    )
    messaging.apply_events()
    assert messaging.as_user(BOB).get_email(by_mailjet["id"])["status"] == "delivered"
    assert messaging.as_user(BOB).get_email(by_sendgrid["id"])["status"] == "delivered"


@pytest.mark.parametrize(
    ("provider", "offset", "stale"),
    [
        ("mailjet", timedelta(seconds=-599), False),
        ("mailjet", timedelta(seconds=-601), True),
        ("mailjet", timedelta(days=-30), True),
        ("mailjet", timedelta(seconds=601), True),  # stamped in the future, as SendGrid's window
        ("sendgrid", timedelta(days=-30), False),  # its request's signed timestamp was checked
        ("twilio", timedelta(days=-30), False),
    ],
)
def test_only_events_of_a_provider_that_signs_no_time_are_checked_by_their_own_time(provider, offset, stale):
    assert is_stale(provider, NOW + offset, NOW, 600) is stale
