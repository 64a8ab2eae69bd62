"""Mail ingestion through the real doors: the user's address from the API, SMTP to the listener
that `crm run` started; a rotated or deactivated address is refused at RCPT within seconds."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import create_user

pytestmark = pytest.mark.e2e


def scan() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "scanner@pomme.fr"
    message["Subject"] = "Scan Chambre 404"
    message.set_content("Numérisé.\n")
    return message


def rcpt(system, address: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", system.settings.mailin.smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("scanner@pomme.fr")
        return client.rcpt(address)


def answered_within(system, address: str, code: int, seconds: float = 5.0) -> tuple[int, bytes]:
    deadline = time.monotonic() + seconds
    while True:
        answer = rcpt(system, address)
        if answer[0] == code or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_the_ingest_address_takes_mail_and_a_rotated_or_deactivated_one_is_refused(system, org):
    user = create_user(org["admin"])
    bruno = system.login(user["email"])
    address = bruno.get("/api/v1/me/secrets").json()["ingest_address"]
    assert address.endswith("@in.pomme.test")

    assert answered_within(system, address, 250)[0] == 250
    with smtplib.SMTP("127.0.0.1", system.settings.mailin.smtp_port, timeout=10) as client:
        assert client.send_message(scan(), to_addrs=[address]) == {}

    rotated = bruno.post("/api/v1/me/secrets/ingest_address/rotate").json()["value"]
    code, text = answered_within(system, address, 550)
    assert (code, text[:5]) == (550, b"5.1.1")
    assert answered_within(system, rotated, 250)[0] == 250

    assert org["admin"].post(f"/api/v1/users/{user['id']}/deactivate").status_code == 200
    code, text = answered_within(system, rotated, 550)
    assert (code, text[:5]) == (550, b"5.1.1")
