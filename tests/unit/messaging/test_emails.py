"""E-mail through the SendGrid and Mailjet SDKs against the sandbox, events, reports."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from click.testing import CliRunner

from cli.main import main
from crm.errors import AdminOnly, InvalidInput
from providers.sendgrid_mail import SendGridMail
from providers.smtp_mail import SmtpMail
from services.messaging.exceptions import EmailNotFound, EmailNotSetUp
from services.messaging.models import ProviderEvent
from tests.people import ALICE, BOB, DIANE
from tests.sandbox_fixtures import silent_api_url

from .email_steps import T0, event, send, set_up

PDF = b"%PDF-1.4 devis Pomme " + bytes(range(256))


def test_email_goes_out_through_sendgrid_with_our_id_in_its_custom_args(messaging):
    set_up(messaging)
    attachment = {
        "filename": "devis.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(PDF).decode(),
    }
    sent = send(messaging, reply_to="bruno.petit@pomme.fr", attachments=[attachment])
    assert (sent["status"], sent["provider"], sent["created"]) == ("queued", "sendgrid", True)
    assert sent["attachments"][0]["size"] == len(PDF)
    [delivered] = messaging.sandbox.messages()
    assert delivered.crm_message_id == sent["id"]
    assert delivered.provider_message_id == sent["provider_message_id"]


def test_email_goes_out_through_mailjet_when_the_org_chose_it(messaging):
    set_up(messaging, provider="mailjet")
    sent = send(messaging)
    assert sent["provider"] == "mailjet"
    assert messaging.sandbox.messages()[0].crm_message_id == sent["id"]


def test_the_fallback_provider_takes_over_when_the_first_fails(messaging):
    set_up(messaging, provider="smtp", fallback="mailjet")
    messaging.providers.email["smtp"] = SmtpMail("127.0.0.1", 9)  # nothing listens on the discard port
    sent = send(messaging)
    assert sent["provider"] == "mailjet"


def test_no_fallback_for_an_email_the_provider_may_have_taken_and_it_stays_sending(messaging):
    set_up(messaging, provider="sendgrid", fallback="mailjet")
    with silent_api_url() as url:
        messaging.providers.email["sendgrid"] = SendGridMail("SG.sandbox", url, timeout=0.5)
        sent = send(messaging, to="jeanne.dupont@exemple.fr")
    assert (sent["status"], sent["created"]) == ("sending", True)
    assert [m for m in messaging.sandbox.messages() if m.to == "jeanne.dupont@exemple.fr"] == []  # not twice


def test_e_mail_is_refused_until_an_admin_sets_it_up(messaging):
    with pytest.raises(EmailNotSetUp, match="PUT /api/v1/emails/settings"):
        send(messaging)
    with pytest.raises(AdminOnly):
        set_up(messaging, person=BOB)


def test_attachments_over_the_limit_are_refused_and_nothing_is_sent(messaging):
    set_up(messaging)
    messaging.settings.messaging.email_max_attachment_bytes = 1024
    big = {"filename": "scan.pdf", "content_base64": base64.b64encode(b"x" * 2000).decode()}
    before = messaging.footprint()
    with pytest.raises(InvalidInput, match="2000 bytes"):
        send(messaging, attachments=[big])
    assert messaging.footprint() == before
    assert messaging.sandbox.messages() == []


def test_events_out_of_order_never_move_a_message_backwards(messaging):
    set_up(messaging)
    sent = send(messaging)
    system = messaging.system()
    system.record_provider_events([event(sent, "opened", T0 + timedelta(minutes=5))])
    system.record_provider_events([event(sent, "delivered", T0 + timedelta(minutes=1))])
    system.record_provider_events([event(sent, "deferred", T0)])
    messaging.apply_events()
    shown = messaging.as_user(BOB).get_email(sent["id"])
    assert shown["status"] == "opened"
    assert [step["status"] for step in shown["timeline"]] == ["deferred", "delivered", "opened"]


def test_duplicate_events_are_stored_once(messaging):
    set_up(messaging)
    sent = send(messaging)
    delivered = event(sent, "delivered", T0)
    first = messaging.system().record_provider_events([delivered, delivered])
    again = messaging.system().record_provider_events([delivered])
    assert (first["stored"], first["duplicates"], again["stored"]) == (1, 1, 0)
    assert messaging.count("provider_events") == 1


def test_another_providers_event_does_not_speak_for_a_message(messaging):
    set_up(messaging)  # SendGrid sends it
    sent = send(messaging)
    # Fresh: a Mailjet event outside the webhook window is never applied anyway.
    just_now = datetime.now(UTC)
    forged = event(
        sent, "bounced", just_now, provider="mailjet", bounce_kind="hard", reason="550 user unknown"
    )
    messaging.system().record_provider_events([forged])
    messaging.apply_events()
    assert messaging.as_user(BOB).get_email(sent["id"])["status"] == "queued"
    assert messaging.as_user(BOB).list_suppressions() == []
    assert send(messaging)["status"] == "queued"


def test_an_event_for_an_unknown_message_is_kept_for_the_operator_to_inspect(messaging, tmp_path):
    stray = {
        "provider": "mailjet",
        "provider_event_id": "inconnu-1",
        "message_id": "0000-not-ours",
        "provider_message_id": "123456",
        "status": "delivered",
        "occurred_at": datetime.now(UTC).isoformat(),  # within the webhook window
        "raw": {"event": "sent"},
    }
    messaging.system().record_provider_events([stray])
    messaging.apply_events()
    assert messaging.count("provider_events", ProviderEvent.outcome == "unknown_message") == 1

    config = tmp_path / "operator.yaml"
    config.write_text(
        yaml.safe_dump({"data_dir": str(tmp_path), "database": {"url": messaging.settings.database.url}})
    )
    shown = CliRunner().invoke(main, ["--config", str(config), "admin", "unknown-provider-events"])
    assert shown.exit_code == 0, shown.output
    assert "mailjet delivered  event inconnu-1  ours 0000-not-ours  theirs 123456" in shown.output
    assert "1 shown" in shown.output


def test_the_idempotency_key_answers_a_retry_without_sending_again(messaging):
    set_up(messaging)
    first = send(messaging, key="devis-7")
    again = send(messaging, key="devis-7")
    assert (again["id"], again["created"]) == (first["id"], False)
    assert len(messaging.sandbox.messages()) == 1


def test_an_email_of_another_member_or_org_is_not_found(messaging):
    set_up(messaging)
    sent = send(messaging)
    assert messaging.as_user(ALICE).get_email(sent["id"])["id"] == sent["id"]
    with pytest.raises(EmailNotFound):
        messaging.as_user(DIANE).get_email(sent["id"])


def test_the_deliverability_report_counts_milestones_and_rates_by_domain(messaging):
    set_up(messaging)
    a = send(messaging, to="jeanne@exemple.fr")
    b = send(messaging, to="paul@exemple.fr")
    c = send(messaging, to="marc@autre.fr")
    d = send(messaging, to="lise@autre.fr", person=ALICE)
    events = [
        event(a, "delivered", T0),
        event(a, "opened", T0 + timedelta(minutes=1)),
        event(a, "clicked", T0 + timedelta(minutes=2), url="https://www.pomme.fr/devis"),
        event(b, "opened", T0),  # an open without its delivered: still a delivery
        event(c, "bounced", T0, bounce_kind="hard"),
        event(d, "delivered", T0),
    ]
    messaging.system().record_provider_events(events)
    messaging.apply_events()
    report = messaging.as_user(ALICE).email_report({})
    assert {k: report["totals"][k] for k in ("sent", "delivered", "opened", "clicked", "bounced")} == {
        "sent": 4,
        "delivered": 3,
        "opened": 2,
        "clicked": 1,
        "bounced": 1,
    }
    assert report["totals"]["bounced_rate"] == 0.25
    by_domain = {row["domain"]: (row["sent"], row["delivered"]) for row in report["by_domain"]}
    assert by_domain == {"exemple.fr": (2, 2), "autre.fr": (2, 1)}
    mine = messaging.as_user(BOB).email_report({"user_id": ALICE.user_id})  # members see only their own
    assert mine["totals"]["sent"] == 3
    assert messaging.as_user(ALICE).email_report({"user_id": ALICE.user_id})["totals"]["sent"] == 1
    assert messaging.as_user(ALICE).email_report({"since": "2030-01-01"})["totals"]["sent"] == 0
    # Date-times with their offsets bound the range to the instant, days to whole UTC days.
    paris = timezone(timedelta(hours=1))
    hour_ago, in_a_minute = (
        datetime.now(paris) + delta for delta in (timedelta(hours=-1), timedelta(minutes=1))
    )
    last_hour = {"since": hour_ago.isoformat(), "until": in_a_minute.isoformat()}
    assert messaging.as_user(ALICE).email_report(last_hour)["totals"]["sent"] == 4
    assert messaging.as_user(ALICE).email_report({"since": in_a_minute.isoformat()})["totals"]["sent"] == 0


def test_concurrent_batches_sharing_events_store_each_event_once(messaging):
    """Providers resend: batches posted at once share events, in any order (PostgreSQL
    once deadlocked on this); together they store each event exactly once."""
    import eventlet

    shared = [
        {
            "provider": "sendgrid",
            "provider_event_id": f"evt-{n:03d}",
            "message_id": None,
            "provider_message_id": None,
            "status": "delivered",
            "occurred_at": T0.isoformat(),
            "raw": {},
        }
        for n in range(1000)
    ]
    batches = [shared, shared[::-1], shared[500:] + shared[:500], shared[::-1]]
    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda batch: messaging.system().record_provider_events(batch), batches))
    assert sum(answer["stored"] for answer in answers) == 1000
    assert messaging.count("provider_events") == 1000
