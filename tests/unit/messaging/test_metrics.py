"""messaging's business figures as an admin sees them after real sends: credits left and spent,
messages by provider and status, e-mail by recipient domain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulations.outcomes import BOUNCE_DOMAIN, TWILIO_INVALID_NUMBER
from services.messaging import metrics
from services.messaging.exceptions import ProviderRefused
from tests.figures import samples, scrape
from tests.people import ALICE, DIANE

from .email_steps import event
from .email_steps import send as send_email
from .email_steps import set_up as set_up_email
from .sms_steps import buy, code_for
from .sms_steps import send as send_sms


def test_credits_left_per_organisation_and_credits_spent_follow_the_ledger(messaging):
    buy(messaging, 10)
    buy(messaging, 3, reference="FAC-DIANE-1", person=DIANE)
    code = code_for(messaging)
    send_sms(messaging, code)
    send_sms(messaging, code, body="Votre rendez-vous est confirmé. " * 6)  # 2 segments
    with pytest.raises(ProviderRefused):  # refused by Twilio: its credit comes back
        send_sms(messaging, code, to=TWILIO_INVALID_NUMBER)

    figures = scrape(metrics, messaging.engine)

    assert samples(figures, "crm_sms_credits_balance") == {(ALICE.org_id,): 7, (DIANE.org_id,): 3}
    # Taken by the three sends (1 + 2 + 1); the refused one's refund shows in the balance only.
    assert figures.get_sample_value("crm_sms_credits_spent_total") == 4
    assert samples(figures, "crm_messages_total") == {
        ("sms", "twilio", "queued"): 2,
        ("sms", "twilio", "failed"): 1,
    }


def test_credits_spent_never_falls_when_a_failed_sms_is_refunded(messaging):
    buy(messaging, 5)
    sent = send_sms(messaging, code_for(messaging))
    before = scrape(metrics, messaging.engine).get_sample_value("crm_sms_credits_spent_total")

    failed = {
        "provider": "twilio",
        "provider_event_id": f"{sent['provider_message_id']}:failed",
        "message_id": sent["id"],
        "provider_message_id": sent["provider_message_id"],
        "status": "failed",
        "reason": "30008",
        "occurred_at": datetime.now(UTC).isoformat(),
        "raw": {},
    }
    messaging.system().record_provider_events([failed])
    messaging.apply_events()

    after = scrape(metrics, messaging.engine)
    assert (before, after.get_sample_value("crm_sms_credits_spent_total")) == (1, 1)
    assert after.get_sample_value("crm_sms_credits_balance", {"organisation": ALICE.org_id}) == 5
    assert (
        after.get_sample_value(
            "crm_messages_total", {"channel": "sms", "provider": "twilio", "status": "failed"}
        )
        == 1
    )


def test_email_by_provider_status_and_recipient_domain_with_small_domains_as_other(messaging, monkeypatch):
    monkeypatch.setattr(metrics, "TOP_DOMAINS", 2)
    set_up_email(messaging, provider="sendgrid")
    for name in ("jeanne.dupont", "paul.martin", "lea.bernard"):
        send_email(messaging, to=f"{name}@exemple.fr")
    bounced = send_email(messaging, to=f"ancien.client@{BOUNCE_DOMAIN}")
    send_email(messaging, to=f"nouveau.client@{BOUNCE_DOMAIN}")
    send_email(messaging, to="contact@garage-martin.fr")  # the smallest domain: "other"
    messaging.system().record_provider_events(
        [event(bounced, "bounced", datetime.now(UTC), bounce_kind="hard", reason="550 user unknown")]
    )
    messaging.apply_events()

    figures = scrape(metrics, messaging.engine)

    assert samples(figures, "crm_messages_total") == {
        ("email", "sendgrid", "queued"): 5,
        ("email", "sendgrid", "bounced"): 1,
    }
    assert samples(figures, "crm_message_domain_total") == {
        ("email", "exemple.fr", "queued"): 3,
        ("email", BOUNCE_DOMAIN, "queued"): 1,
        ("email", BOUNCE_DOMAIN, "bounced"): 1,
        ("email", "other", "queued"): 1,
    }


def test_no_message_sent_yet_shows_no_message_series_and_no_spending(messaging):
    figures = scrape(metrics, messaging.engine)

    assert samples(figures, "crm_messages_total") == {}
    assert samples(figures, "crm_sms_credits_balance") == {}
    assert figures.get_sample_value("crm_sms_credits_spent_total") == 0
