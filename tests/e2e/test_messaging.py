"""Messaging through the gateway: credits, codes, SMS, e-mail, signed webhooks from the provider
sandbox that `crm run` starts, suppressions and reports."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
from twilio.request_validator import RequestValidator

from emulations.outcomes import BOUNCE_DOMAIN, TWILIO_FAILING_NUMBER
from emulations.sendgrid import sign_sendgrid_events
from providers.sandbox_key import sandbox_signing_key
from tests.e2e.conftest import create_user, unique

V1 = "/api/v1"


def _buy(admin, credits: int) -> None:
    response = admin.post(
        f"{V1}/sms/credits/purchases", json={"credits": credits, "reference": unique("FAC")}
    )
    assert response.status_code == 201, response.text


def _member_with_code(system, org, **code_options) -> tuple:
    member = create_user(org["admin"])
    issued = org["admin"].post(
        f"{V1}/sms/authorization-codes", json={"user_id": member["id"], **code_options}
    )
    assert issued.status_code == 201, issued.text
    return system.login(member["email"]), issued.json()["code"]


def _eventually(fetch, done, timeout: float = 15.0):
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if done(value) or time.time() > deadline:
            return value
        time.sleep(0.1)


def _sandbox_messages(system) -> list[dict]:
    return requests.get(
        f"http://127.0.0.1:{system.settings.messaging.sandbox_port}/_sandbox/messages", timeout=5
    ).json()


# -- SMS -------------------------------------------------------------------------------------


def test_an_sms_goes_out_and_its_signed_status_callbacks_mark_it_delivered(system, org):
    _buy(org["admin"], 10)
    member, code = _member_with_code(system, org)
    response = member.post(
        f"{V1}/sms",
        json={
            "to": "+33 6 12 34 56 78",
            "body": "Rendez-vous confirmé demain 9h",
            "authorization_code": code,
        },
    )
    assert response.status_code == 201, response.text
    sms = response.json()
    assert (sms["to"], sms["segments"], sms["status"]) == ("+33612345678", 1, "queued")
    assert response.headers["Location"] == f"{V1}/sms/{sms['id']}"
    final = _eventually(
        lambda: member.get(f"{V1}/sms/{sms['id']}").json(), lambda s: s["status"] == "delivered"
    )
    assert final["status"] == "delivered"
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 9


def test_200_concurrent_sends_against_50_credits_send_exactly_50(system, org):
    _buy(org["admin"], 50)
    member, code = _member_with_code(system, org)
    marker = unique("lot")

    def send(number: int) -> int:
        body = {"to": "+33612345678", "body": f"{marker} {number}", "authorization_code": code}
        return member.request("POST", f"{V1}/sms", json=body).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(send, range(200)))
    assert (statuses.count(201), statuses.count(402)) == (50, 150), statuses
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 0
    sent = [m for m in _sandbox_messages(system) if m.get("body", "").startswith(marker)]
    assert len(sent) == 50


def test_refused_codes_and_missing_credits_say_why_and_send_nothing(system, org):
    member, code = _member_with_code(system, org)
    body = {"to": "+33612345678", "body": "Bonjour", "authorization_code": code}
    no_credit = member.post(f"{V1}/sms", json=body)
    assert no_credit.status_code == 402, no_credit.text
    assert "insufficient credits" in no_credit.json()["detail"]
    _buy(org["admin"], 5)
    wrong = member.post(f"{V1}/sms", json={**body, "authorization_code": "0000-0000-0000"})
    assert wrong.status_code == 403 and "is wrong" in wrong.json()["detail"]
    [listed] = org["admin"].get(f"{V1}/sms/authorization-codes").json()["codes"]
    assert org["admin"].delete(f"{V1}/sms/authorization-codes/{listed['id']}").status_code == 200
    revoked = member.post(f"{V1}/sms", json=body)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["detail"]
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 5


def test_a_retried_send_with_its_idempotency_key_is_answered_not_sent_again(system, org):
    _buy(org["admin"], 5)
    member, code = _member_with_code(system, org)
    body = {"to": "+33612345678", "body": unique("relance"), "authorization_code": code}
    first = member.post(f"{V1}/sms", json=body, headers={"Idempotency-Key": "relance-1"})
    again = member.post(f"{V1}/sms", json=body, headers={"Idempotency-Key": "relance-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 4


def test_a_failed_sms_is_refunded_after_its_callback(system, org):
    _buy(org["admin"], 3)
    member, code = _member_with_code(system, org)
    sent = member.post(
        f"{V1}/sms", json={"to": TWILIO_FAILING_NUMBER, "body": "Test", "authorization_code": code}
    )
    assert sent.status_code == 201, sent.text
    final = _eventually(
        lambda: member.get(f"{V1}/sms/{sent.json()['id']}").json(), lambda s: s["status"] == "failed"
    )
    assert final["status"] == "failed"
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 3
    report = org["admin"].get(f"{V1}/reports/sms").json()
    assert report["credits_used"] == 0 and report["users"][0]["failed"] == 1


def test_a_forged_twilio_callback_is_refused_and_changes_nothing(system, org):
    _buy(org["admin"], 3)
    member, code = _member_with_code(system, org)
    sms = member.post(
        f"{V1}/sms", json={"to": "+33612345678", "body": "x", "authorization_code": code}
    ).json()
    _eventually(lambda: member.get(f"{V1}/sms/{sms['id']}").json(), lambda s: s["status"] == "delivered")
    url = f"{system.base_url}/webhooks/twilio/status?message_id={sms['id']}"
    params = {"MessageSid": sms["provider_message_id"], "MessageStatus": "failed", "ErrorCode": "30008"}
    forged = RequestValidator("not-the-auth-token").compute_signature(url, params)
    response = requests.post(url, data=params, headers={"X-Twilio-Signature": forged}, timeout=5)
    assert response.status_code == 403 and "signature" in response.json()["detail"]
    unsigned = requests.post(url, data=params, timeout=5)
    assert unsigned.status_code == 403
    time.sleep(0.5)
    assert member.get(f"{V1}/sms/{sms['id']}").json()["status"] == "delivered"
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 2


def _signed_twilio_callback(system, sms: dict, status: str, error_code: str) -> requests.Response:
    """A status callback signed with the real auth token, as a captured one replayed would be."""
    url = f"{system.base_url}/webhooks/twilio/status?message_id={sms['id']}"
    params = {"MessageSid": sms["provider_message_id"], "MessageStatus": status, "ErrorCode": error_code}
    signature = RequestValidator(system.settings.messaging.twilio.auth_token).compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5)


def test_a_correctly_signed_failed_callback_after_delivered_neither_moves_the_sms_back_nor_refunds(
    system, org
):
    _buy(org["admin"], 3)
    member, code = _member_with_code(system, org)
    sms = member.post(
        f"{V1}/sms", json={"to": "+33612345678", "body": "Livraison demain", "authorization_code": code}
    ).json()
    _eventually(lambda: member.get(f"{V1}/sms/{sms['id']}").json(), lambda s: s["status"] == "delivered")
    for status, error_code in (("failed", "30008"), ("undelivered", "30003")):
        answer = _signed_twilio_callback(system, sms, status, error_code)
        assert answer.status_code == 200 and answer.json()["stored"] == 1, answer.text  # kept as events
    # Applied within about 0.2 s; give it ten times that to move the message, which it must not.
    shown = _eventually(
        lambda: member.get(f"{V1}/sms/{sms['id']}").json(), lambda s: s["status"] != "delivered", 2.0
    )
    assert (shown["status"], shown["error"]) == ("delivered", None)
    assert member.get(f"{V1}/sms/credits").json()["balance"] == 2  # spent once, never refunded
    report = org["admin"].get(f"{V1}/reports/sms").json()
    assert report["credits_used"] == 1 and report["users"][0]["failed"] == 0


# -- e-mail ------------------------------------------------------------------------------------


def test_concurrent_purchases_with_one_reference_add_the_credits_once(system, org):
    reference = unique("FAC")

    def buy(_: int) -> int:
        body = {"credits": 25, "reference": reference}
        return org["admin"].request("POST", f"{V1}/sms/credits/purchases", json=body).status_code

    before = org["admin"].get(f"{V1}/sms/credits").json()["balance"]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(buy, range(10)))
    assert sorted(statuses) == [200] * 9 + [201], statuses
    assert org["admin"].get(f"{V1}/sms/credits").json()["balance"] == before + 25


def _set_up_email(org, provider: str = "sendgrid") -> None:
    settings = {"provider": provider, "sender_email": "ventes@pomme.fr", "sender_name": "Pomme Ventes"}
    response = org["admin"].request("PUT", f"{V1}/emails/settings", json=settings)
    assert response.status_code == 200, response.text


def _send_email(api, to: str) -> requests.Response:
    pdf = base64.b64encode(b"%PDF-1.4 devis").decode()
    return api.post(
        f"{V1}/emails",
        json={
            "to": {"email": to, "name": "Jeanne Dupont"},
            "subject": "Votre devis",
            "html": "<p>Bonjour, voici votre devis.</p>",
            "reply_to": "bruno.petit@pomme.fr",
            "attachments": [
                {"filename": "devis.pdf", "content_type": "application/pdf", "content_base64": pdf}
            ],
        },
    )


def test_concurrent_sends_of_one_email_with_one_key_send_it_once(system, org):
    _set_up_email(org)
    to = f"{unique('jeanne')}@exemple.fr"
    body = {"to": {"email": to}, "subject": "Votre devis", "text": "Bonjour, voici votre devis."}

    def send(_: int) -> requests.Response:
        return org["admin"].request("POST", f"{V1}/emails", json=body, headers={"Idempotency-Key": to})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))
    assert sorted(answer.status_code for answer in answers) == [200] * 9 + [201], [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1


def test_sendgrid_signed_events_track_an_email_to_delivered(system, org):
    _set_up_email(org)
    sent = _send_email(org["admin"], "jeanne.dupont@exemple.fr")
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]
    shown = _eventually(
        lambda: org["admin"].get(f"{V1}/emails/{message_id}").json(), lambda m: m["status"] == "delivered"
    )
    assert shown["status"] == "delivered"
    assert [step["status"] for step in shown["timeline"]][-1] == "delivered"


def test_mailjet_events_track_an_email_and_a_bounce_suppresses_the_address(system, org):
    _set_up_email(org, "mailjet")
    to = f"{unique('inconnu')}@{BOUNCE_DOMAIN}"
    sent = _send_email(org["admin"], to)
    assert sent.status_code == 201, sent.text
    shown = _eventually(
        lambda: org["admin"].get(f"{V1}/emails/{sent.json()['id']}").json(),
        lambda m: m["status"] == "bounced",
    )
    assert shown["status"] == "bounced"
    again = _send_email(org["admin"], to)
    assert again.status_code == 409 and "suppression list" in again.json()["detail"]
    assert org["admin"].delete(f"{V1}/emails/suppressions/{to}").status_code == 204
    assert _send_email(org["admin"], to).status_code == 201


def test_a_forged_or_stale_sendgrid_webhook_is_refused(system, org):
    body = json.dumps(
        [{"email": "a@exemple.fr", "event": "delivered", "timestamp": 1, "sg_event_id": "x"}]
    ).encode()
    now = str(int(datetime.now(UTC).timestamp()))
    good = sign_sendgrid_events(sandbox_signing_key(), body, now)
    url = f"{system.base_url}/webhooks/sendgrid"
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": good,
        "X-Twilio-Email-Event-Webhook-Timestamp": now,
    }
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    tampered = body.replace(b"delivered", b"bounce")
    assert requests.post(url, data=tampered, headers=headers, timeout=5).status_code == 403
    stale = str(int(now) - 3600)
    stale_headers = {
        **headers,
        "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_events(sandbox_signing_key(), body, stale),
        "X-Twilio-Email-Event-Webhook-Timestamp": stale,
    }
    refused = requests.post(url, data=body, headers=stale_headers, timeout=5)
    assert refused.status_code == 403 and "replay window" in refused.json()["detail"]


def test_mailjet_webhook_needs_its_basic_auth_and_readable_events(system):
    url = f"{system.base_url}/webhooks/mailjet"
    event = {"event": "open", "time": 1763800000, "email": "a@exemple.fr", "MessageID": 1}
    assert requests.post(url, json=event, auth=("mailjet", "wrong"), timeout=5).status_code == 403
    mailjet = system.settings.messaging.mailjet
    garbage = requests.post(
        url, data=b"not json", auth=(mailjet.webhook_user, mailjet.webhook_password), timeout=5
    )
    assert garbage.status_code == 400
    ok = requests.post(
        url, json=[event, event], auth=(mailjet.webhook_user, mailjet.webhook_password), timeout=5
    )
    assert ok.status_code == 200 and ok.json()["duplicates"] >= 1


def test_the_deliverability_report_is_scoped_to_the_org(system, org):
    _set_up_email(org)
    assert _send_email(org["admin"], "paul@exemple.fr").status_code == 201
    _eventually(
        lambda: org["admin"].get(f"{V1}/reports/emails").json(), lambda r: r["totals"]["delivered"] == 1
    )
    report = org["admin"].get(f"{V1}/reports/emails", params={"provider": "sendgrid"}).json()
    assert (report["totals"]["sent"], report["totals"]["delivered_rate"]) == (1, 1.0)
    assert report["by_domain"][0]["domain"] == "exemple.fr"
    assert org["admin"].get(f"{V1}/reports/emails", params={"since": "bad"}).status_code == 422


def test_read_only_users_cannot_send(system, org):
    reader = system.login(create_user(org["admin"], read_only=True)["email"])
    response = reader.post(f"{V1}/sms", json={"to": "+33612345678", "body": "x", "authorization_code": "x"})
    assert response.status_code == 403 and response.json()["title"] == "Read-only user"
