"""SMTP ingest: messages accepted per second by the real listener, and how soon mailin processes them.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``;
``BENCH_DATABASE_URL`` and ``BENCH_VHOST`` to change them). ``crm run`` starts
the system, whose SMTP ingest listener (its own process) listens on a free port
and whose mailin service processes what it stored. The admin's ingest address is
read from ``GET /api/v1/me/secrets``.

The client: 20 connections (``BENCH_CONNECTIONS``), each an OS thread with
``smtplib`` in a process of its own (no eventlet), each sending one message after
the other on its connection (MAIL, RCPT, DATA). Messages are about 10 KB of
text; one in ten (``BENCH_PDF_EVERY``) also carries a 200 KB PDF, base64, made
different for each message so the blob store cannot share it. Each has its own
Message-ID. For each message the client times the 250: from the end of DATA
(the final dot sent) to the reply.

Rows, in one run:

- **sink**: the same client against aiosmtpd's own ``Sink`` handler (``python -m
  aiosmtpd -c aiosmtpd.handlers.Sink``, its own process): what an SMTP server
  that keeps nothing answers, on this machine, to this client;
- **listener, as fast as it goes**: the closed loop against the listener
  (durable before 250: blob fsynced, rows committed);
- **listener, paced at 200/s** (``BENCH_RATE``): the same client sending at the
  target rate (each connection waits for its turn), the rate the 5 s lag
  target is stated at.

For the listener rows the lag of each accepted message is read from the
database: its pending e-mail interaction's ``created_at`` (interactions) minus
its ``raw_messages.received_at`` (stamped by the listener just before its
commit, that is just before the 250); the interaction's id is derived from the
delivery's user and message key as interactions derives it. The p99 of mailin's
own part (``deliveries.processed_at``) is shown beside it. Targets: at least 200
messages/s accepted, and every accepted message a pending interaction within
5 s of its 250 at that rate.

``BENCH_MESSAGES`` (default 3,000 per row) sets the size.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from bench.mail_samples import SENDER, message

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "20"))
PDF_EVERY = int(os.environ.get("BENCH_PDF_EVERY", "10"))
RATE = float(os.environ.get("BENCH_RATE", "200"))
LAG_TARGET_SECONDS = 5.0
RATE_TARGET = 200.0
# -- the client (run in a process of its own: `python -m bench.smtp_ingest client ...`) ----------


def _send_one(client: smtplib.SMTP, recipient: str, data: bytes) -> tuple[float, str]:
    """MAIL, RCPT, DATA; returns (ms from the final dot sent to the reply, the reply's text)."""
    code, reply = client.mail(SENDER)
    if code != 250:
        raise smtplib.SMTPResponseException(code, reply)
    code, reply = client.rcpt(recipient)
    if code != 250:
        raise smtplib.SMTPResponseException(code, reply)
    client.putcmd("data")
    code, reply = client.getreply()
    if code != 354:
        raise smtplib.SMTPResponseException(code, reply)
    quoted = smtplib._quote_periods(data)  # as smtplib.data() sends bytes (already CRLF)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    client.send(quoted + b".\r\n")
    started = time.perf_counter()
    code, reply = client.getreply()
    elapsed = (time.perf_counter() - started) * 1000
    if code != 250:
        raise smtplib.SMTPResponseException(code, reply)
    return elapsed, reply.decode("ascii", "replace")


def run_client(port: int, recipient: str, count: int, connections: int, rate: float, tag: str) -> dict:
    """Send ``count`` messages over ``connections`` threads; ``rate`` > 0 paces them (messages/s)."""
    lock = threading.Lock()
    next_number = [0]
    answers: list[tuple[float, str]] = []
    errors: list[str] = []
    started = time.perf_counter()

    def take() -> int | None:
        with lock:
            if next_number[0] >= count:
                return None
            next_number[0] += 1
            return next_number[0] - 1

    def connection() -> None:
        client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        client.ehlo("bench.pomme.fr")
        while (number := take()) is not None:
            if rate > 0:
                delay = started + number / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            data = message(tag, number, PDF_EVERY > 0 and number % PDF_EVERY == 0)
            try:
                answer = _send_one(client, recipient, data)
            except Exception as exc:  # counted as an error; the connection starts again
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                client.close()
                client = smtplib.SMTP("127.0.0.1", port, timeout=60)
                client.ehlo("bench.pomme.fr")
                continue
            with lock:
                answers.append(answer)
        client.quit()

    threads = [threading.Thread(target=connection) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "latencies": [latency for latency, _ in answers],
        "replies": [reply for _, reply in answers],
        "errors": errors,
    }


# -- the benchmark -----------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    sent: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    lags: list[float] = field(default_factory=list)  # seconds to its interaction, one per message
    mailin_lags: list[float] = field(default_factory=list)  # seconds to mailin's processing
    unprocessed: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by process, sending and processing

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _client(port: int, recipient: str, count: int, rate: float, tag: str) -> dict:
    """``run_client`` in a fresh interpreter: real threads, no eventlet, no share of our GIL."""
    arguments = [str(port), recipient, str(count), str(CONNECTIONS), str(rate), tag]
    done = subprocess.run(
        [sys.executable, "-m", "bench.smtp_ingest", "client", *arguments],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sink_row(count: int) -> Row:
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("aiosmtpd's Sink did not start") from None
                time.sleep(0.1)
        import psutil

        before = psutil.Process(sink.pid).cpu_times()
        result = _client(port, "anyone@in.pomme.test", count, 0, "sink")
        after = psutil.Process(sink.pid).cpu_times()
        spent = (after.user + after.system) - (before.user + before.system)
    finally:
        sink.terminate()
        sink.wait(10)
    row = Row(
        "aiosmtpd Sink (keeps nothing)", count, result["seconds"], result["latencies"], result["errors"]
    )
    row.cpu_seconds = {"aiosmtpd Sink": spent}
    return row


def _stored_ids(replies: list[str]) -> list[str]:
    # "2.0.0 OK stored <raw message id> for 1 recipient(s)"
    return [reply.split("stored ", 1)[1].split()[0] for reply in replies if "stored " in reply]


def _lags(database: str, raw_ids: list[str], timeout: float = 300) -> tuple[list[float], list[float], int]:
    """Seconds from each message's storing (just before its 250) to its delivery processed by
    mailin, and to its pending e-mail interaction created by interactions; waits for them all.
    Returns (mailin lags, interaction lags, messages with no interaction at the deadline)."""
    from sqlalchemy import create_engine, text

    from services.interactions.pending_email import interaction_id_for

    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg2://", 1))
    processed = text(
        "SELECT d.org_id, d.user_id, d.message_key, r.received_at, "
        "EXTRACT(EPOCH FROM d.processed_at - r.received_at) FROM mailin.deliveries d "
        "JOIN mailin.raw_messages r ON r.id = d.raw_message_id "
        "WHERE d.raw_message_id = ANY(:ids) AND d.status = 'processed' AND NOT d.duplicate"
    )
    created = text("SELECT id, created_at FROM interactions.interactions WHERE id = ANY(:ids)")
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                rows = list(connection.execute(processed, {"ids": raw_ids}))
                received = {interaction_id_for(o, u, k): at for o, u, k, at, _lag in rows}
                made = dict(list(connection.execute(created, {"ids": list(received)})))
            mailin_lags = [float(row[4]) for row in rows]
            lags = [(at - received[key]).total_seconds() for key, at in made.items()]
            if len(lags) >= len(raw_ids) or time.monotonic() > deadline:
                return mailin_lags, lags, len(raw_ids) - len(lags)
            time.sleep(1)
    finally:
        engine.dispose()


def listener_row(system, database: str, recipient: str, name: str, count: int, rate: float, tag: str) -> Row:
    from bench.cpu import CpuMeter

    port = system.settings["mailin"]["smtp_port"]
    # PostgreSQL's backends serving other databases (others' benchmarks and tests) are left out.
    with CpuMeter({system.pid}, database.rsplit("/", 1)[1]) as meter:
        result = _client(port, recipient, count, rate, tag)
        row = Row(name, count, result["seconds"], result["latencies"], result["errors"])
        row.mailin_lags, row.lags, row.unprocessed = _lags(database, _stored_ids(result["replies"]))
    # The client runs in a child of this process; its CPU is the load generator's, not ours.
    row.cpu_seconds = {
        label: seconds for label, seconds in meter.seconds.items() if label != "load generator"
    }
    return row


def _wait_for_address(port: int, recipient: str, timeout: float = 60) -> None:
    """mailin loads the ingest addresses from accounts at start: wait until the RCPT is taken."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                client.ehlo()
                client.mail(SENDER)
                if client.rcpt(recipient)[0] == 250:
                    return
        except (smtplib.SMTPException, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the listener never took {recipient}")


def format_table(rows: list[Row], baseline: Row) -> str:
    lines = [
        "| row | sent | accepted | errors | msg/s accepted | ratio to Sink | 250 p50 ms | 250 p99 ms "
        "| mailin lag p99 s | lag p50 s | lag p99 s | lag max s | over 5 s | no interaction |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lag = (
            f"{_percentile(row.mailin_lags or [0], 99):.2f} | {_percentile(row.lags, 50):.2f} "
            f"| {_percentile(row.lags, 99):.2f} | {max(row.lags):.2f} "
            f"| {sum(1 for value in row.lags if value > LAG_TARGET_SECONDS)} | {row.unprocessed}"
            if row.lags
            else "– | – | – | – | – | –"
        )
        lines.append(
            f"| {row.name} | {row.sent} | {len(row.latencies)} | {len(row.errors)} | {row.rate:,.0f} "
            f"| {row.rate / baseline.rate:.0%} | {_percentile(row.latencies, 50):.1f} "
            f"| {_percentile(row.latencies, 99):.1f} | {lag} |"
        )
    return "\n".join(lines)


def main() -> None:
    from bench.cpu import CpuRow, format_cpu_table
    from bench.system import DATABASE, running_system  # patches eventlet: not in the client

    baseline = sink_row(MESSAGES)
    with running_system("smtp_ingest") as system:
        import requests

        token = system.admin_token()
        secrets = requests.get(
            f"{system.base_url}/api/v1/me/secrets", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        secrets.raise_for_status()
        recipient = secrets.json()["ingest_address"]
        _wait_for_address(system.settings["mailin"]["smtp_port"], recipient)
        rows = [
            listener_row(system, DATABASE, recipient, "listener, as fast as it goes", MESSAGES, 0, "max"),
            listener_row(
                system, DATABASE, recipient, f"listener, paced at {RATE:.0f}/s", MESSAGES, RATE, "paced"
            ),
        ]
        data_dir = system.settings["data_dir"]
    shutil.rmtree(data_dir, ignore_errors=True)  # the blobs: about 100 MB per 1,000 messages
    print(
        f"{MESSAGES} messages per row, {CONNECTIONS} connections, 1 in {PDF_EVERY} with a 200 KB PDF; "
        f"targets: >= {RATE_TARGET:.0f} msg/s accepted, "
        f"every message a pending interaction within {LAG_TARGET_SECONDS:.0f} s"
    )
    print(format_table([baseline, *rows], baseline))
    print()
    print("CPU per message by process, from the first MAIL to the last delivery processed:")
    cpu_rows = [CpuRow(row.name, len(row.latencies), row.cpu_seconds) for row in [baseline, *rows]]
    print(format_cpu_table(cpu_rows, unit="message"))
    for row in [baseline, *rows]:
        for error in sorted(set(row.errors))[:3]:
            print(f"{row.name}: {error}")
    fastest = rows[0]
    paced = rows[1]
    met = (
        fastest.rate >= RATE_TARGET
        and paced.unprocessed == 0
        and max(paced.lags or [0]) <= LAG_TARGET_SECONDS
    )
    print(f"target {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        port, recipient, count, connections, rate, tag = sys.argv[2:8]
        print(json.dumps(run_client(int(port), recipient, int(count), int(connections), float(rate), tag)))
    else:
        main()
