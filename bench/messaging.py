"""Messaging benchmark: webhook ingestion and the SMS send path, through the gateway, on PostgreSQL.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``),
with the provider sandbox on a free port.

1. Webhook ingestion: SendGrid event batches of 100, signed as SendGrid signs
   them, posted by 8 concurrent clients; one event in ten is a resend of an
   event already posted. Prints events/s acknowledged, checks deduplication
   is exact (stored rows = distinct events) and how long applying them took.
   Baseline in the same run: ``GET /healthz`` at the same concurrency (the
   gateway doing no work). Target: 2,000 events/s or more.
2. SMS send path: ``POST /api/v1/sms`` (code check, credit debit, Twilio SDK
   call to the sandbox, status callbacks coming back) by 16 concurrent
   clients. Baseline in the same run: the Twilio SDK sending straight to the
   sandbox. Target: 200 SMS/s or more.

``BENCH_EVENTS`` (default 40,000) and ``BENCH_SMS`` (default 2,000) set the sizes.
"""

from __future__ import annotations

import eventlet

# The clients are green threads in one OS thread: 16 OS threads fighting over the GIL
# took more CPU than the requests they sent, CPU the system under test then lacked.
eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.cpu import CpuMeter, CpuRow, format_cpu_table  # noqa: E402
from bench.system import running_system  # noqa: E402
from emulations.sendgrid import sign_sendgrid_events  # noqa: E402
from providers.base import OutgoingSms  # noqa: E402
from providers.sandbox_key import sandbox_signing_key  # noqa: E402
from providers.twilio_sms import TwilioSms  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "40000"))
SMS = int(os.environ.get("BENCH_SMS", "2000"))
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/crm_bench")
BATCH = 100
SENDGRID_WORDS = ("processed", "delivered", "open", "click", "deferred")


class Timed:
    def __init__(self, name: str, count: int, unit: str, seconds: float, latencies: list[float]):
        self.name, self.count, self.unit, self.seconds, self.latencies = name, count, unit, seconds, latencies

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_parallel(name: str, unit: str, jobs: list, call: Callable, workers: int, per_job: int = 1) -> Timed:
    """Run ``call(job)`` for every job over ``workers`` (green) threads, each with its own HTTP session."""
    local = threading.local()
    latencies: list[float] = []

    def one(job) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        call(local.session, job)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, jobs))
    return Timed(name, len(jobs) * per_job, unit, time.perf_counter() - started, latencies)


def wait_until_none(connection: Any, count_sql: str, timeout: float = 120) -> None:
    """Poll ``count_sql`` until it counts nothing (the services caught up)."""
    deadline = time.monotonic() + timeout
    while connection.execute(text(count_sql)).scalar():
        if time.monotonic() > deadline:
            raise SystemExit(f"still not done after {timeout:g} s: {count_sql}")
        time.sleep(0.1)
        connection.rollback()


def event_batches(message_ids: list[str], rng: random.Random) -> tuple[list[bytes], int]:
    """Batches of 100 SendGrid events, one in ten a repeat of an earlier one; returns (bodies, distinct)."""
    posted: list[dict] = []
    bodies, distinct = [], 0
    now = int(time.time())
    for batch_number in range(EVENTS // BATCH):
        batch = []
        for slot in range(BATCH):
            if posted and slot % 10 == 9:
                batch.append(rng.choice(posted))
                continue
            message_id = rng.choice(message_ids)
            word = rng.choice(SENDGRID_WORDS)
            event = {
                "email": f"client{distinct % 500}@exemple{distinct % 7}.fr",
                "timestamp": now - rng.randrange(3600),
                "event": word,
                "sg_event_id": f"bench-{batch_number}-{slot}-{rng.getrandbits(48):x}",
                "sg_message_id": f"msg-{message_id}.filter0001",
                "crm_message_id": message_id,
                **({"url": "https://www.pomme.fr/offre"} if word == "click" else {}),
            }
            posted.append(event)
            batch.append(event)
            distinct += 1
        bodies.append(json.dumps(batch).encode())
    return bodies, distinct


def main() -> None:
    rng = random.Random(11)
    with running_system("messaging", settings={"gateway": {"max_body_bytes": 4 * 1024 * 1024}}) as system:
        base, sandbox_port = system.base_url, system.settings["messaging"]["sandbox_port"]
        token = system.admin_token()
        auth = {"Authorization": f"Bearer {token}"}
        me = requests.get(f"{base}/api/v1/me", headers=auth, timeout=10).json()
        requests.post(
            f"{base}/api/v1/sms/credits/purchases",
            json={"credits": 10_000_000, "reference": "BENCH"},
            headers=auth,
            timeout=10,
        ).raise_for_status()
        code = requests.post(
            f"{base}/api/v1/sms/authorization-codes", json={"user_id": me["id"]}, headers=auth, timeout=10
        ).json()["code"]
        requests.put(
            f"{base}/api/v1/emails/settings",
            json={"provider": "sendgrid", "sender_email": "bench@pomme.fr"},
            headers=auth,
            timeout=10,
        ).raise_for_status()
        message_ids = [
            requests.post(
                f"{base}/api/v1/emails",
                json={"to": {"email": f"client{n}@exemple.fr"}, "subject": "Offre", "text": "Bonjour"},
                headers=auth,
                timeout=10,
            ).json()["id"]
            for n in range(200)
        ]
        time.sleep(2)  # let the sandbox's own events for these settle

        cpu_rows: list[CpuRow] = []
        with CpuMeter({system.pid}) as meter:
            healthz = run_parallel(
                "GET /healthz (baseline)",
                "req",
                list(range(2000)),
                lambda session, _: session.get(f"{base}/healthz", timeout=10).raise_for_status(),
                workers=8,
            )
        cpu_rows.append(CpuRow(healthz.name, healthz.count, meter.seconds))

        bodies, distinct = event_batches(message_ids, rng)
        key = sandbox_signing_key()
        answers: list[dict] = []

        def post_batch(session: requests.Session, body: bytes) -> None:
            stamp = str(int(datetime.now(UTC).timestamp()))
            response = session.post(
                f"{base}/webhooks/sendgrid",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_events(key, body, stamp),
                    "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                },
                timeout=30,
            )
            response.raise_for_status()
            answers.append(response.json())

        ingest_started = time.perf_counter()
        engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
        with CpuMeter({system.pid}) as meter:
            ingestion = run_parallel(
                "POST /webhooks/sendgrid, 100 events each",
                "event",
                bodies,
                post_batch,
                workers=8,
                per_job=BATCH,
            )
            with engine.connect() as connection:
                stored = (
                    "SELECT count(*) FROM messaging.provider_events WHERE provider_event_id LIKE 'bench-%'"
                )
                stored_rows = connection.execute(text(stored)).scalar()
                wait_until_none(
                    connection, "SELECT count(*) FROM messaging.provider_events WHERE outcome IS NULL"
                )
        applied_after = time.perf_counter() - ingest_started
        cpu_rows.append(CpuRow(f"{ingestion.name}, until applied", ingestion.count, meter.seconds))
        stored_answers = sum(answer["stored"] for answer in answers)

        twilio = TwilioSms(
            "AC00000000000000000000000000sandbox", "sandbox-auth-token", f"http://127.0.0.1:{sandbox_port}"
        )
        with CpuMeter({system.pid}) as meter:
            direct = run_parallel(
                "Twilio SDK straight to the sandbox (baseline)",
                "SMS",
                list(range(SMS)),
                lambda session, n: twilio.send(OutgoingSms("+33612345678", "+15005550006", f"direct {n}")),
                workers=16,
            )
        cpu_rows.append(CpuRow(direct.name, direct.count, meter.seconds))
        with CpuMeter({system.pid}) as meter:
            sms = run_parallel(
                "POST /api/v1/sms",
                "SMS",
                list(range(SMS)),
                lambda session, n: session.post(
                    f"{base}/api/v1/sms",
                    json={
                        "to": "+33612345678",
                        "body": f"Bonjour, votre code est {n}",
                        "authorization_code": code,
                    },
                    headers=auth,
                    timeout=30,
                ).raise_for_status(),
                workers=16,
            )
            with engine.connect() as connection:
                # The provider's "sent" and "delivered" callbacks are part of what an SMS costs.
                wait_until_none(
                    connection, "SELECT count(*) FROM messaging.sms_messages WHERE status <> 'delivered'"
                )
        cpu_rows.append(CpuRow(f"{sms.name}, until delivered", sms.count, meter.seconds))
        engine.dispose()

        print(f"\nMessaging on PostgreSQL, {EVENTS:,} webhook events, {SMS:,} SMS, 2 cores\n")
        print("| measurement | clients | count | per second | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for timed, clients in ((healthz, 8), (ingestion, 8), (direct, 16), (sms, 16)):
            print(
                f"| {timed.name} | {clients} | {timed.count:,} {timed.unit}s | {timed.rate:,.0f} | "
                f"{statistics.median(timed.latencies):.1f} | {timed.percentile(99):.1f} |"
            )
        print(
            f"\nwebhook requests/s vs /healthz: {ingestion.rate / BATCH / healthz.rate:.0%}; "
            f"SMS path vs direct SDK: {sms.rate / direct.rate:.0%}"
        )
        print(
            f"deduplication: {distinct:,} distinct events posted ({EVENTS - distinct:,} resends), "
            f"{stored_rows:,} stored, answers said {stored_answers:,} new: "
            + ("exact" if stored_rows == distinct == stored_answers else "NOT EXACT")
        )
        print(f"every event applied {applied_after:.1f} s after the first post")
        print("\nCPU per unit (user + system time of each process during the row)\n")
        print(format_cpu_table(cpu_rows, unit="request, event or SMS"))


if __name__ == "__main__":
    main()
