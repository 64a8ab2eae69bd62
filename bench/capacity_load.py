"""The load of ``bench.capacity``: a small business's staff, phones, scanners and providers, as locust users.

Runs in a process of its own, one per step:
``python -m bench.capacity_load FIXTURES USERS SECONDS OUT``. Locust runs on
gevent and the services on eventlet, so this module imports neither nameko nor
eventlet, nor a module that does. ``FIXTURES`` is the JSON ``bench.capacity``
wrote (accounts with their tokens, record ids, ...); ``OUT`` receives each
request kind's counts and percentiles over the ``SECONDS`` measured, after
every user started and ``SETTLE_SECONDS`` more. The model and its proportions
are in ``bench/capacity.md``.
"""

from __future__ import annotations

import itertools
import json
import random
import smtplib
import sys
import time
import uuid
from typing import Any

import gevent
from locust import FastHttpUser, User, between, task
from locust.env import Environment

from bench.capacity_staff import FIXTURES, INTERACTIVE, FieldUser, OfficeUser
from bench.mail_samples import SENDER, message
from emulations.sendgrid import sign_sendgrid_events
from providers.sandbox_key import sandbox_signing_key

OFFICE_SHARE = 0.7  # of the staff; the others are in the field
USERS_PER_SCANNER = 20  # one scanner or mail client sending to ingest addresses per 20 staff
USERS_PER_PROVIDER = 50  # one stream of provider callbacks (opens, clicks) per 50 staff
SETTLE_SECONDS = 5.0


class MailSender(User):
    """A scanner or a mail client sending to a colleague's ingest address over SMTP, every 20 to 40 s."""

    wait_time = between(20, 40)
    sent = itertools.count()

    @task
    def send(self) -> None:
        number = next(self.sent)
        with_pdf = number % 5 == 0  # the scanner's PDF (200 KB); the others forwarded mail (10 KB)
        data = message("capacity", number, with_pdf)
        recipient = random.choice(FIXTURES["office"])["ingest_address"]
        started = time.perf_counter()
        exception = None
        try:
            with smtplib.SMTP("127.0.0.1", FIXTURES["smtp_port"], timeout=60) as client:
                client.sendmail(SENDER, [recipient], data)
        except (smtplib.SMTPException, OSError) as exc:
            exception = exc
        self.environment.events.request.fire(
            request_type="SMTP",
            name="mail to ingest address",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(data),
            exception=exception,
            context={},
        )


class ProviderCallbacks(FastHttpUser):
    """SendGrid posting its signed events (deliveries, opens, clicks) of the e-mails sent, every 5 to 15 s.

    The sandbox posts the callbacks of what the office users send during the step on top of these.
    """

    wait_time = between(5, 15)
    key = None

    @task
    def post_events(self) -> None:
        now = int(time.time())
        events = [
            {
                "email": f"client{n}@exemple.fr",
                "timestamp": now - random.randrange(600),
                "event": word,
                "sg_event_id": uuid.uuid4().hex,
                "sg_message_id": f"msg-{message_id}.filter0001",
                "crm_message_id": message_id,
                **({"url": "https://www.pomme.fr/offre"} if word == "click" else {}),
            }
            for n in range(20)
            for message_id, word in [
                (random.choice(FIXTURES["email_message_ids"]), random.choice(("delivered", "open", "click")))
            ]
        ]
        body = json.dumps(events).encode()
        stamp = str(now)
        signature = sign_sendgrid_events(sandbox_signing_key(), body, stamp)
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": signature,
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        with self.client.post(
            "/webhooks/sendgrid", data=body, headers=headers, name="SendGrid events", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:200]}")


def mix(users: int) -> dict[type[User], int]:
    """How many of each kind ``users`` staff bring: office and field users, scanners, providers."""
    office = round(users * OFFICE_SHARE)
    return {
        OfficeUser: office,
        FieldUser: users - office,
        MailSender: max(1, users // USERS_PER_SCANNER),
        ProviderCallbacks: max(1, users // USERS_PER_PROVIDER),
    }


def run_step(users: int, seconds: float) -> dict[str, Any]:
    """Start the users, let them settle, measure ``seconds``; each request kind's figures."""
    counts = mix(users)
    for user_class, count in counts.items():
        user_class.fixed_count = count
        user_class.host = FIXTURES["base_url"]
    environment = Environment(user_classes=list(counts), catch_exceptions=True)
    runner = environment.create_local_runner()
    total = sum(counts.values())
    runner.start(total, spawn_rate=max(20.0, total / 5))
    runner.spawning_greenlet.join()
    gevent.sleep(SETTLE_SECONDS)
    environment.stats.reset_all()
    print("measuring", flush=True)  # bench.capacity reads CPU and counts around the window
    started = time.monotonic()
    gevent.sleep(seconds)
    measured = time.monotonic() - started
    print("measured", flush=True)
    kinds = [
        {
            "name": entry.name,
            "method": entry.method,
            "interactive": entry.name in INTERACTIVE,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "per_second": entry.num_requests / measured,
            "p50": entry.get_response_time_percentile(0.5),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "response_times": {str(k): v for k, v in entry.response_times.items()},
        }
        for entry in environment.stats.entries.values()
        if entry.num_requests or entry.num_failures
    ]
    errors = [
        {"name": e.name, "error": str(e.error)[:300], "occurrences": e.occurrences}
        for e in environment.stats.errors.values()
    ]
    runner.quit()
    return {
        "users": users,
        "mix": {c.__name__: n for c, n in counts.items()},
        "seconds": measured,
        "kinds": kinds,
        "errors": errors,
        # Where each phone's last pull left it: the next step's phones go on from there.
        "last_pulled_at": {phone["id"]: phone["last_pulled_at"] for phone in FIXTURES["field"]},
    }


def main() -> None:
    fixtures, users, seconds, out = sys.argv[1:5]
    with open(fixtures) as handle:
        FIXTURES.update(json.load(handle))
    result = run_step(int(users), float(seconds))
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
