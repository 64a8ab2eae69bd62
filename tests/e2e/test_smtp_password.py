"""A user's SMTP password, for a mail client outside the office: issued once, replaced, revoked."""

from __future__ import annotations

import time

V1 = "/api/v1"


def test_a_user_gets_an_smtp_password_for_their_ingest_address_shown_once(system, org):
    alice = org["admin"]
    address = alice.get(f"{V1}/me/secrets").json()["ingest_address"]
    deadline = time.time() + 10
    while (issued := alice.post(f"{V1}/me/smtp-password")).status_code == 404 and time.time() < deadline:
        time.sleep(0.2)  # mail ingestion learns the address from accounts' event a moment later
    assert issued.status_code == 201, issued.text
    login = issued.json()
    assert login["username"] == address and login["username"].endswith("@in.pomme.test")
    assert len(login["password"]) >= 24
    assert login["auth_offered"] is False  # this system has no certificate: AUTH is not offered

    again = alice.post(f"{V1}/me/smtp-password").json()
    assert again["password"] != login["password"]
    assert alice.delete(f"{V1}/me/smtp-password").status_code == 204
    assert system.anonymous().post(f"{V1}/me/smtp-password").status_code == 401
