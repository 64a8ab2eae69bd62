"""Invitation to notification: latency at 50 invitations/s, through the gateway, on PostgreSQL.

Same setup as ``contacts_search`` (database ``crm_bench``, vhost ``crm_bench``).
An admin invites 20 colleagues to 50 meetings at a steady 50 invitations per
second (open loop: one every 20 ms, whatever the answers). The latency of each
is read from the two services' own records: from the participant's
``invited_at`` (interactions, just before its commit) to the notification's
``created_at`` (notifier): commit, outbox relay, broker, consumer. Baseline in
the same run: a plain kombu request/reply round trip on the same broker. Target:
p99 at most 100 ms.

``BENCH_INVITATIONS`` (default 1,000) sets the size.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time

import requests
from sqlalchemy import create_engine, text

from bench.system import DATABASE, PASSWORD, running_system

INVITATIONS = int(os.environ.get("BENCH_INVITATIONS", "1000"))
RATE = 50.0
USERS = 20


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def kombu_round_trips(amqp_uri: str, count: int = 500) -> list[float]:
    """The broker's own request/reply latency, one call at a time (ms)."""
    import eventlet

    eventlet.monkey_patch()
    from bench.kombu_echo import EchoClient

    server = subprocess.Popen(
        [sys.executable, "-c", f"from bench.kombu_echo import serve; serve({amqp_uri!r})"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        server.stdout.readline()
        call = EchoClient(amqp_uri).caller()
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            call()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(1 / RATE)
        return latencies
    finally:
        server.terminate()


def main() -> None:
    with running_system("invitations") as system:
        base, amqp_uri = system.base_url, system.amqp_uri
        auth = {"Authorization": f"Bearer {system.admin_token()}"}
        http = requests.Session()
        http.patch(
            f"{base}/api/v1/settings", json={"multi_user_interactions": True}, headers=auth
        ).raise_for_status()
        users = [
            http.post(
                f"{base}/api/v1/users",
                json={"email": f"collegue{n}@pomme.fr", "name": f"Collègue {n}", "password": PASSWORD},
                headers=auth,
            ).json()["id"]
            for n in range(USERS)
        ]
        meetings = [
            http.post(
                f"{base}/api/v1/interactions",
                json={"subject": f"Réunion {n}", "type": "meeting", "start_at": "2026-12-01T09:00:00+01:00"},
                headers=auth,
            ).json()["id"]
            for n in range(-(-INVITATIONS // USERS))
        ]
        pairs = [(meeting, user) for meeting in meetings for user in users][:INVITATIONS]
        request_ms: list[float] = []
        failures = [0]

        def invite(meeting: str, user: str) -> None:
            started = time.perf_counter()
            response = requests.post(
                f"{base}/api/v1/interactions/{meeting}/participants",
                json={"user_id": user},
                headers=auth,
                timeout=30,
            )
            request_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 201:
                failures[0] += 1

        threads = []
        started = time.perf_counter()
        for index, (meeting, user) in enumerate(pairs):
            delay = started + index / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            thread = threading.Thread(target=invite, args=(meeting, user))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        offered = len(pairs) / (time.perf_counter() - started)
        engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg2://", 1))
        deadline = time.time() + 30
        with engine.connect() as connection:
            while time.time() < deadline:
                done = connection.execute(
                    text("SELECT count(*) FROM notifier.notifications WHERE kind = 'invitation'")
                ).scalar()
                if done >= len(pairs) - failures[0]:
                    break
                connection.rollback()
                time.sleep(0.2)
            rows = (
                connection.execute(
                    text(
                        """
                    SELECT extract(epoch FROM n.created_at - p.invited_at) * 1000
                    FROM notifier.notifications n
                    JOIN interactions.participants p
                      ON p.interaction_id = n.interaction_id AND p.user_id = n.user_id
                    WHERE n.kind = 'invitation'
                    """
                    )
                )
                .scalars()
                .all()
            )
        engine.dispose()
        latencies = [float(value) for value in rows]
        echo = kombu_round_trips(amqp_uri)
        title = f"{len(pairs):,} invitations at {offered:.0f}/s offered"
        print(f"\nInvitation to notification on PostgreSQL: {title}\n")
        print("| measurement | count | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, values in (
            ("kombu request/reply round trip (baseline)", echo),
            ("POST invitation (HTTP answer)", request_ms),
            ("invited_at -> notification in the inbox", latencies),
        ):
            print(
                f"| {name} | {len(values):,} | {statistics.median(values):.1f} "
                f"| {_percentile(values, 95):.1f} "
                f"| {_percentile(values, 99):.1f} | {max(values):.1f} |"
            )
        print(f"\n{failures[0]} invitation(s) failed; {len(latencies):,} notifications matched")


if __name__ == "__main__":
    main()
