"""Sending SMS through the Twilio SDK against the sandbox: spending, refunds, replays, callbacks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from crm.errors import InsufficientCredits, InvalidInput, ReadOnlyUser
from emulations.outcomes import TWILIO_FAILING_NUMBER, TWILIO_INVALID_NUMBER
from providers.base import ProviderError
from services.messaging.exceptions import (
    AuthorizationRefused,
    IdempotencyKeyReused,
    ProviderRefused,
    ProviderUnavailable,
    SmsNotFound,
)
from services.messaging.models import AuthorizationCode, SmsMessage
from tests.people import ALICE, BOB, CLAIRE, DIANE

from .sms_steps import HELLO, JEANNE_MOBILE, buy, code_for, send

# -- sending ----------------------------------------------------------------------------


def test_sending_spends_one_credit_per_segment_and_reaches_twilio(messaging):
    buy(messaging, 10)
    code = code_for(messaging)
    sent = send(messaging, code, body="a" * 200)  # two GSM-7 segments
    assert (sent["status"], sent["segments"], sent["to"], sent["created"]) == (
        "queued",
        2,
        "+33612345678",
        True,
    )
    assert sent["provider_message_id"].startswith("SM")
    assert messaging.as_user(BOB).get_credits()["balance"] == 8
    delivered = messaging.sandbox.messages()
    assert [(m.to, m.provider_message_id) for m in delivered] == [
        ("+33612345678", sent["provider_message_id"])
    ]
    assert messaging.events("sms_sent")[0]["record"]["id"] == sent["id"]


@pytest.mark.parametrize(
    ("make_code", "reason"),
    [
        (lambda m: "ABCD-EFGH-JKMN", "is wrong"),
        (lambda m: code_for(m, ALICE), "is wrong"),  # Alice's code, not Bob's
        (lambda m: _revoked_code(m), "was revoked"),
        (lambda m: _expired_code(m), "expired"),
    ],
)
def test_a_refused_code_sends_nothing_and_spends_nothing(messaging, make_code, reason):
    buy(messaging, 10)
    code = make_code(messaging)
    before = messaging.footprint()
    with pytest.raises(AuthorizationRefused, match=reason):
        send(messaging, code)
    assert messaging.footprint() == before
    assert messaging.sandbox.messages() == []


def _revoked_code(messaging) -> str:
    issued = messaging.as_user(ALICE).issue_authorization_code({"user_id": BOB.user_id})
    messaging.as_user(ALICE).revoke_authorization_code(issued["id"])
    return issued["code"]


def _expired_code(messaging) -> str:
    issued = messaging.as_user(ALICE).issue_authorization_code({"user_id": BOB.user_id})
    with messaging.db.transaction() as uow:
        uow.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == issued["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    return issued["code"]


def test_a_code_is_typed_without_regard_to_case_spaces_or_dashes(messaging):
    buy(messaging, 10)
    code = code_for(messaging)
    assert send(messaging, " " + code.replace("-", " ").lower())["status"] == "queued"


def test_without_enough_credits_nothing_is_sent(messaging):
    buy(messaging, 1)
    code = code_for(messaging)
    before = messaging.footprint()
    with pytest.raises(InsufficientCredits, match="takes 2, the organisation has 1 left"):
        send(messaging, code, body="a" * 200)
    assert messaging.footprint() == before
    assert messaging.sandbox.messages() == []


def test_a_monthly_cap_stops_a_code_once_reached(messaging):
    buy(messaging, 100)
    code = code_for(messaging, monthly_cap=3)
    send(messaging, code, body="a" * 200)  # 2 credits
    with pytest.raises(AuthorizationRefused, match="monthly cap: 2 of 3"):
        send(messaging, code, body="a" * 200)
    send(messaging, code)  # 1 more fits
    assert messaging.as_user(ALICE).get_credits()["balance"] == 97


def test_a_bad_number_or_text_is_refused_naming_the_field(messaging):
    buy(messaging, 100)
    code = code_for(messaging)
    before = messaging.footprint()
    with pytest.raises(InvalidInput) as bad_number:
        send(messaging, code, to="06 12")
    with pytest.raises(InvalidInput) as empty:
        send(messaging, code, body="   ")
    with pytest.raises(InvalidInput) as too_long:
        send(messaging, code, body="a" * 1600)  # 11 segments, over the 10 allowed
    assert [e.value.errors[0]["field"] for e in (bad_number, empty, too_long)] == ["to", "body", "body"]
    assert "11 segments" in too_long.value.detail
    assert messaging.footprint() == before


def test_a_retried_request_with_its_idempotency_key_is_not_sent_twice(messaging):
    buy(messaging, 10)
    code = code_for(messaging)
    first = send(messaging, code, key="envoi-42")
    again = send(messaging, code, key="envoi-42")
    assert (again["id"], again["created"]) == (first["id"], False)
    assert len(messaging.sandbox.messages()) == 1
    assert messaging.as_user(BOB).get_credits()["balance"] == 9
    with pytest.raises(IdempotencyKeyReused):
        send(messaging, code, key="envoi-42", body="Autre message")


def test_a_number_the_provider_refuses_is_failed_and_refunded(messaging):
    buy(messaging, 10)
    code = code_for(messaging)
    with pytest.raises(ProviderRefused):
        send(messaging, code, to=TWILIO_INVALID_NUMBER)
    ledger = messaging.as_user(ALICE).get_credits()
    assert ledger["balance"] == 10
    assert [entry["kind"] for entry in ledger["entries"]] == ["refund", "debit", "purchase"]
    assert messaging.events("sms_failed")[0]["record"]["status"] == "failed"


def test_read_only_users_cannot_send(messaging):
    buy(messaging, 10)
    with pytest.raises(ReadOnlyUser):
        send(messaging, "ABCD-EFGH-JKMN", person=CLAIRE)


def test_an_sms_of_another_member_or_org_is_not_found(messaging):
    buy(messaging, 10)
    sent = send(messaging, code_for(messaging))
    assert messaging.as_user(ALICE).get_sms(sent["id"])["id"] == sent["id"]
    with pytest.raises(SmsNotFound):
        messaging.as_user(DIANE).get_sms(sent["id"])


def test_a_failed_status_callback_refunds_once(messaging):
    buy(messaging, 10)
    sent = send(messaging, code_for(messaging), to=TWILIO_FAILING_NUMBER)
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
    messaging.system().record_provider_events([failed])  # Twilio retries
    messaging.apply_events()
    assert messaging.as_user(BOB).get_sms(sent["id"])["status"] == "failed"
    assert messaging.as_user(BOB).get_credits()["balance"] == 10
    assert messaging.count("credit_entries") == 3  # purchase, debit, one refund


# -- sends interrupted before the provider answered ---------------------------------------


class ProcessStops:
    """A provider call during which the messaging process stops (the answer is never stored)."""

    def send(self, outgoing):
        raise SystemExit("the process stops here")


def _interrupted_send(messaging, code: str) -> str:
    worker = messaging.as_user(BOB)
    worker.providers = dataclasses.replace(messaging.providers, sms=ProcessStops())
    with pytest.raises(SystemExit):
        worker.send_sms({"to": JEANNE_MOBILE, "body": HELLO, "authorization_code": code})
    with messaging.db.read() as session:
        return session.scalars(select(SmsMessage.id).where(SmsMessage.status == "sending")).one()


def _age(messaging, sms_id: str, seconds: int) -> None:
    with messaging.db.transaction() as uow:
        uow.session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == sms_id)
            .values(status_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def test_an_sms_whose_send_was_interrupted_is_failed_and_refunded_once_it_is_stale(messaging):
    buy(messaging, 10)
    code = code_for(messaging, monthly_cap=5)
    stuck = _interrupted_send(messaging, code)
    assert messaging.as_user(BOB).get_credits()["balance"] == 9  # spent before the provider call

    messaging.system().fail_interrupted_sends()  # not stale yet: a send may still be under way
    assert messaging.as_user(BOB).get_sms(stuck)["status"] == "sending"

    _age(messaging, stuck, messaging.settings.messaging.interrupted_send_seconds + 1)
    messaging.system().fail_interrupted_sends()
    messaging.system().fail_interrupted_sends()
    failed = messaging.as_user(BOB).get_sms(stuck)
    assert failed["status"] == "failed"
    assert "interrupted before the provider answered" in failed["error"]
    assert messaging.as_user(BOB).get_credits()["balance"] == 10
    assert messaging.count("credit_entries") == 3  # purchase, debit, one refund
    assert [event["record"]["id"] for event in messaging.events("sms_failed")] == [stuck]
    # The code's month got its credit back too: five more segments fit under the cap of five.
    for _ in range(5):
        assert send(messaging, code)["status"] == "queued"


def twilio_callback(
    sms_id: str, status: str, at: datetime, sid: str = "SM5a1e0000000000000000000000000001"
) -> dict:
    return {
        "provider": "twilio",
        "provider_event_id": f"{sid}:{status}:{at.timestamp()}",
        "message_id": sms_id,
        "provider_message_id": sid,
        "status": status,
        "occurred_at": at.isoformat(),
        "raw": {},
    }


def test_an_interrupted_send_the_provider_delivered_after_all_is_charged_again_once(messaging):
    buy(messaging, 10)
    code = code_for(messaging, monthly_cap=5)
    stuck = _interrupted_send(messaging, code)
    _age(messaging, stuck, messaging.settings.messaging.interrupted_send_seconds + 1)
    messaging.system().fail_interrupted_sends()
    assert messaging.as_user(BOB).get_credits()["balance"] == 10  # refunded: nothing was reported

    # Twilio had taken it: its "delivered" callback comes late, then once more.
    now = datetime.now(UTC)
    messaging.system().record_provider_events([twilio_callback(stuck, "delivered", now)])
    messaging.apply_events()
    messaging.system().record_provider_events(
        [twilio_callback(stuck, "delivered", now + timedelta(seconds=5))]
    )
    messaging.apply_events()

    delivered = messaging.as_user(BOB).get_sms(stuck)
    assert (delivered["status"], delivered["error"]) == ("delivered", None)
    assert messaging.as_user(BOB).get_credits()["balance"] == 9
    assert messaging.count("credit_entries") == 4  # purchase, debit, refund, debit again
    # The code's month counts it again: four more segments fit under the cap of five, not five.
    for _ in range(4):
        assert send(messaging, code)["status"] == "queued"
    with pytest.raises(AuthorizationRefused):
        send(messaging, code)


def test_a_late_charge_may_take_the_balance_below_zero_and_then_nothing_is_sent(messaging):
    buy(messaging, 1)
    code = code_for(messaging)
    stuck = _interrupted_send(messaging, code)
    _age(messaging, stuck, messaging.settings.messaging.interrupted_send_seconds + 1)
    messaging.system().fail_interrupted_sends()
    assert send(messaging, code)["status"] == "queued"  # the refunded credit went to another SMS

    messaging.system().record_provider_events([twilio_callback(stuck, "delivered", datetime.now(UTC))])
    messaging.apply_events()
    assert messaging.as_user(BOB).get_credits()["balance"] == -1
    with pytest.raises(InsufficientCredits):
        send(messaging, code)


def test_a_message_is_refunded_once_and_charged_again_once_whatever_the_provider_says_after(messaging):
    buy(messaging, 10)
    stuck = _interrupted_send(messaging, code_for(messaging))
    _age(messaging, stuck, messaging.settings.messaging.interrupted_send_seconds + 1)
    messaging.system().fail_interrupted_sends()
    now = datetime.now(UTC)
    for seconds, status in ((0, "delivered"), (5, "failed"), (10, "delivered"), (15, "failed")):
        messaging.system().record_provider_events(
            [twilio_callback(stuck, status, now + timedelta(seconds=seconds))]
        )
        messaging.apply_events()

    # Delivered for good: a "failed" after it would move it backwards, so it only joins the events.
    assert messaging.as_user(BOB).get_sms(stuck)["status"] == "delivered"
    assert messaging.as_user(BOB).get_credits()["balance"] == 9  # spent, refunded, spent again: no more
    assert messaging.count("credit_entries") == 4


# -- the provider's answer, or its silence --------------------------------------------------


class NoAnswer:
    """Twilio took the request, or may have, and no answer came back in time."""

    def send(self, outgoing):
        raise ProviderError(
            "twilio", "Twilio did not answer: read timed out", retryable=True, outcome_unknown=True
        )


class Unreachable:
    """Twilio could not be reached: the request never left."""

    def send(self, outgoing):
        raise ProviderError("twilio", "Twilio did not answer: connection refused", retryable=True)


class CallbacksComeFirst:
    """Twilio's callbacks land before its answer to the send, which then fails."""

    def __init__(self, messaging):
        self.messaging = messaging

    def send(self, outgoing):
        sms_id = parse_qs(urlsplit(outgoing.status_callback_url).query)["message_id"][0]
        self.messaging.system().record_provider_events(
            [twilio_callback(sms_id, "delivered", datetime.now(UTC))]
        )
        self.messaging.apply_events()
        raise ProviderError("twilio", "Twilio did not answer: connection reset", retryable=True)


def send_through(messaging, provider, code: str, key: str | None = None) -> dict:
    worker = messaging.as_user(BOB)
    worker.providers = dataclasses.replace(messaging.providers, sms=provider)
    return worker.send_sms({"to": JEANNE_MOBILE, "body": HELLO, "authorization_code": code}, key)


def test_an_sms_twilio_did_not_answer_for_stays_sending_with_its_credits_until_a_callback_says(messaging):
    buy(messaging, 10)
    answer = send_through(messaging, NoAnswer(), code_for(messaging))
    assert (answer["status"], answer["created"]) == ("sending", True)
    assert messaging.as_user(BOB).get_credits()["balance"] == 9  # it may have gone out: nothing refunded

    messaging.system().record_provider_events([twilio_callback(answer["id"], "delivered", datetime.now(UTC))])
    messaging.apply_events()
    assert messaging.as_user(BOB).get_sms(answer["id"])["status"] == "delivered"
    assert messaging.as_user(BOB).get_credits()["balance"] == 9


def test_a_retry_with_the_same_key_after_twilio_was_unreachable_sends_the_sms(messaging):
    buy(messaging, 10)
    code = code_for(messaging)
    with pytest.raises(ProviderUnavailable):
        send_through(messaging, Unreachable(), code, key="relance-1")
    assert messaging.as_user(BOB).get_credits()["balance"] == 10  # nothing was spent, as the error says

    retried = send(messaging, code, key="relance-1")
    assert (retried["status"], retried["created"]) == ("queued", True)
    assert send(messaging, code, key="relance-1")["id"] == retried["id"]  # and the key holds from now on
    assert messaging.as_user(BOB).get_credits()["balance"] == 9


def test_a_failed_send_does_not_undo_a_delivery_a_callback_reported_meanwhile(messaging):
    buy(messaging, 10)
    answer = send_through(messaging, CallbacksComeFirst(messaging), code_for(messaging))
    assert (answer["status"], answer["created"]) == ("delivered", True)
    assert messaging.as_user(BOB).get_credits()["balance"] == 9
    assert messaging.count("credit_entries") == 2  # purchase, debit: no refund


def test_an_sms_body_with_the_nul_character_is_refused_and_nothing_is_spent(messaging):
    buy(messaging, 10)
    with pytest.raises(InvalidInput) as refused:
        send(messaging, code_for(messaging), body="Bonjour\x00")
    assert [error["field"] for error in refused.value.errors] == ["body"]
    assert messaging.as_user(BOB).get_credits()["balance"] == 10
