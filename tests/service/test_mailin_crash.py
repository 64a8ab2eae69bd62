"""kill -9 of the SMTP listener and of the mailin service while a real client sends: every
message answered 250 becomes ``mail_received`` exactly once per user, none is lost."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections import Counter
from email.message import EmailMessage

import eventlet
from sqlalchemy import select

from services.contacts.service import ContactsService
from services.mailin.models import Delivery, outbox
from tests.mailin_listener import INGEST_DOMAIN, ListenerProcess, add_ingest_address, write_config

SENDERS = 4


class ServiceProcess:
    """``crm serve mailin`` in a process of its own."""

    def __init__(self, config_path):
        self.config_path = config_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "--config", str(self.config_path), "serve", "mailin"],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def message(number: int, sender: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "scanner@pomme-siege-central.fr"
    mail["Subject"] = f"Scan {sender}-{number}"
    mail["Message-ID"] = f"<crash-{sender}-{number}-{time.time_ns()}@pomme-siege-central.fr>"
    mail.set_content("Page numérisée. " * 200)
    return mail


def test_kill_9_of_listener_and_service_mid_stream_loses_nothing_and_duplicates_nothing(
    migrated, engine, tmp_path, container_factory
):
    container_factory(ContactsService, migrated.nameko_config()).start()  # mailin links senders with it
    org_id, claire = add_ingest_address(engine, "uclairecrash0001")
    _, bruno = add_ingest_address(engine, "ubrunocrash00001", org_id=org_id)
    to = [f"uclairecrash0001@{INGEST_DOMAIN}", f"ubrunocrash00001@{INGEST_DOMAIN}"]
    config_path, settings = write_config(migrated, tmp_path, poll_interval_seconds=0.2)
    listener = ListenerProcess(config_path, settings).start()
    service = ServiceProcess(config_path)
    service.start()
    accepted: list[str] = []  # Message-IDs answered 250
    sending = True

    def send_forever(sender: int) -> None:
        number = 0
        while sending:
            mail = message(number, sender)
            number += 1
            try:
                with smtplib.SMTP("127.0.0.1", listener.port, timeout=5) as client:
                    if client.send_message(mail, to_addrs=to) == {}:
                        accepted.append(mail["Message-ID"].strip("<>"))
            except (OSError, smtplib.SMTPException):
                eventlet.sleep(0.05)  # the listener is down or died mid-conversation: not a 250

    senders = [eventlet.spawn(send_forever, n) for n in range(SENDERS)]
    try:
        for _ in range(2):
            eventlet.sleep(1.5)
            listener.kill()
            eventlet.sleep(0.3)
            listener.start()
            eventlet.sleep(1.0)
            service.kill()
            eventlet.sleep(0.5)
            service.start()
        eventlet.sleep(1.0)
        sending = False
        for sender in senders:
            sender.wait()
        assert len(accepted) > 20
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                pending = connection.scalars(
                    select(Delivery.id).where(
                        Delivery.user_id.in_([claire, bruno]), Delivery.status == "pending"
                    )
                ).all()
            if not pending:
                break
            time.sleep(0.3)
        assert pending == []
    finally:
        sending = False
        listener.stop()
        service.stop()

    with engine.connect() as connection:
        payloads = connection.scalars(select(outbox.c.payload).where(outbox.c.event_type == "mail_received"))
        received = Counter(
            (p["record"]["user_id"], p["record"]["message_key"])
            for p in payloads
            if p["record"]["user_id"] in (claire, bruno)
        )
    assert [key for key, count in received.items() if count > 1] == []  # no duplicate
    missing = [(u, key) for key in accepted for u in (claire, bruno) if (u, key) not in received]
    assert missing == []  # no loss
