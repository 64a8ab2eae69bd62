"""The staff of ``bench.capacity``'s load, as locust users: office users and their colleagues' phones.

Imported by ``bench.capacity_load`` in the load process (gevent): it imports
neither nameko nor eventlet. ``FIXTURES`` is what ``bench.capacity`` prepared
(accounts with their tokens, record ids, words to search). The mix and its
reasons are in ``bench/capacity.md``.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import gevent
from locust import FastHttpUser, between, task

SYNC_EVERY_SECONDS = 30.0
PUSH_EVERY_SYNCS = 3

# Request kinds a person waits for: the capacity is the users for which these keep p99 <= 300 ms.
INTERACTIVE = (
    "search contacts",
    "search companies",
    "open contact",
    "open company",
    "contact's interactions",
    "team agenda, week",
    "create interaction",
    "update interaction",
    "add note",
    "start timer",
    "stop timer",
    "invite colleague",
    "unread notifications",
    "send SMS",
    "send e-mail",
    "upload document",
)

FIXTURES: dict[str, Any] = {}
_PDF = b"%PDF-1.4\n" + b"0" * 30_000 + b"\n%%EOF\n"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class OfficeUser(FastHttpUser):
    """Someone at a desk: a request every 2 to 5 s, the mix of a working day."""

    wait_time = between(2, 5)
    accounts = itertools.count()

    def on_start(self) -> None:
        self.account = FIXTURES["office"][next(self.accounts) % len(FIXTURES["office"])]
        self.headers = {"Authorization": f"Bearer {self.account['token']}"}
        self.mine: list[dict[str, Any]] = []  # interactions this user made: id, version, invited
        timer = self.client.get("/api/v1/timer", headers=self.headers, name="(start) timer").json()
        self.timer_running = timer.get("timer") is not None  # one left running by an earlier step

    def _json(self, method: str, path: str, name: str, body: Any = None) -> dict[str, Any] | None:
        with self.client.request(
            method, path, name=name, headers=self.headers, json=body, catch_response=True
        ) as response:
            if response.status_code not in (200, 201):
                response.failure(f"{response.status_code} {response.text[:200]}")
                return None
            return response.json()

    def _interaction(self) -> dict[str, Any]:
        return self.mine[-1] if self.mine else self.create_interaction()

    @task(20)
    def search_contacts(self) -> None:
        q = quote(random.choice(FIXTURES["contact_words"]))
        self._json("GET", f"/api/v1/contacts?q={q}&limit=20", "search contacts")

    @task(8)
    def search_companies(self) -> None:
        q = quote(random.choice(FIXTURES["company_words"]))
        self._json("GET", f"/api/v1/companies?q={q}&limit=20", "search companies")

    @task(12)
    def open_contact(self) -> None:
        self._json("GET", f"/api/v1/contacts/{random.choice(FIXTURES['contacts'])}", "open contact")

    @task(6)
    def open_company(self) -> None:
        self._json("GET", f"/api/v1/companies/{random.choice(FIXTURES['companies'])}", "open company")

    @task(6)
    def contact_interactions(self) -> None:
        contact = random.choice(FIXTURES["contacts"])
        self._json("GET", f"/api/v1/interactions?contact_id={contact}&limit=20", "contact's interactions")

    @task(8)
    def team_agenda(self) -> None:
        team = ",".join(random.sample(FIXTURES["team"], min(8, len(FIXTURES["team"]))))
        monday = date(2020, 1, 6) + timedelta(weeks=random.randrange(52 * 10))
        since, until = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
        self._json("GET", f"/api/v1/agenda?user_ids={team}&since={since}&until={until}", "team agenda, week")

    @task(6)
    def create_interaction(self) -> dict[str, Any]:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=random.randrange(-48, 240))
        body = {
            "subject": f"Rendez-vous {random.randrange(10**6)}",
            "type": random.choice(("call", "meeting")),
            "start_at": _iso(start),
            "end_at": _iso(start + timedelta(hours=1)),
            "contact_ids": [random.choice(FIXTURES["contacts"])],
            "company_ids": [random.choice(FIXTURES["companies"])],
        }
        made = self._json("POST", "/api/v1/interactions", "create interaction", body)
        if made is None:
            return {"id": None}
        self.mine = [*self.mine[-9:], {"id": made["id"], "version": made["version"], "invited": set()}]
        return self.mine[-1]

    @task(4)
    def update_interaction(self) -> None:
        record = self._interaction()
        if record["id"] is None:
            return
        body = {"version": record["version"], "description": f"Compte rendu {random.randrange(10**6)}"}
        updated = self._json("PATCH", f"/api/v1/interactions/{record['id']}", "update interaction", body)
        if updated is not None:
            record["version"] = updated["version"]

    @task(6)
    def add_note(self) -> None:
        record = self._interaction()
        if record["id"] is not None:
            body = {"text": "Client ravi, rappeler en mars."}
            self._json("POST", f"/api/v1/interactions/{record['id']}/notes", "add note", body)

    @task(4)
    def toggle_timer(self) -> None:
        if self.timer_running:
            self.timer_running = self._json("POST", "/api/v1/timer/stop", "stop timer") is None
            return
        record = self._interaction()
        if record["id"] is not None:
            path = f"/api/v1/interactions/{record['id']}/timer/start"
            self.timer_running = self._json("POST", path, "start timer") is not None

    @task(2)
    def invite_colleague(self) -> None:
        record = self._interaction()
        colleagues = [u for u in FIXTURES["team"] if u != self.account["id"] and u not in record["invited"]]
        if record["id"] is None or not colleagues:
            return
        colleague = random.choice(colleagues)
        path = f"/api/v1/interactions/{record['id']}/participants"
        if self._json("POST", path, "invite colleague", {"user_id": colleague}) is not None:
            record["invited"].add(colleague)

    @task(6)
    def unread_notifications(self) -> None:
        self._json("GET", "/api/v1/notifications/unread-count", "unread notifications")

    @task(1)
    def send_sms(self) -> None:
        body = {
            "to": f"06 12 34 {random.randrange(10, 100)} {random.randrange(10, 100)}",
            "body": "Bonjour, votre technicien passe demain à 9 h.",
            "authorization_code": self.account["sms_code"],
        }
        self._json("POST", "/api/v1/sms", "send SMS", body)

    @task(2)
    def send_email(self) -> None:
        body = {
            "to": {"email": f"client{random.randrange(10**5)}@exemple.fr"},
            "subject": "Votre devis",
            "text": "Bonjour, vous trouverez notre proposition ci-jointe.",
        }
        self._json("POST", "/api/v1/emails", "send e-mail", body)

    @task(1)
    def upload_document(self) -> None:
        record = self._interaction()
        if record["id"] is None:
            return
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nquote\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="devis.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n",
        ]
        body = "".join(parts).encode() + _PDF + f"\r\n--{boundary}--\r\n".encode()
        headers = {**self.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        path = f"/api/v1/interactions/{record['id']}/documents"
        with self.client.post(
            path, data=body, headers=headers, name="upload document", catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:200]}")


class FieldUser(FastHttpUser):
    """A phone in the field: syncs every 30 s; one sync in three pushes a visit report or its update."""

    accounts = itertools.count()

    def wait_time(self) -> float:
        return max(0.0, SYNC_EVERY_SECONDS - (time.monotonic() - self.sync_started))

    def on_start(self) -> None:
        self.account = FIXTURES["field"][next(self.accounts) % len(FIXTURES["field"])]
        self.headers = {
            "Authorization": f"Bearer {self.account['token']}",
            "X-Device-Id": self.account["device"],
        }
        self.last = self.account["last_pulled_at"]
        self.syncs = random.randrange(PUSH_EVERY_SYNCS)
        self.visits: dict[str, int | None] = {}  # the visits this phone made: id, version pulled
        gevent.sleep(random.uniform(0, SYNC_EVERY_SECONDS))  # phones do not sync in step
        self.sync_started = time.monotonic()

    @task
    def synchronize(self) -> None:
        self.sync_started = time.monotonic()
        self.syncs += 1
        with self.client.get(
            f"/api/v1/sync/pull?last_pulled_at={self.last}",
            headers=self.headers,
            name="phone pull",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:200]}")
                return
            pulled = response.json()
        self.last = self.account["last_pulled_at"] = pulled["timestamp"]  # the next step goes on from here
        interactions = pulled["changes"].get("interactions", {})
        for record in interactions.get("created", []) + interactions.get("updated", []):
            if record["id"] in self.visits:
                self.visits[record["id"]] = record.get("version")
        if self.syncs % PUSH_EVERY_SYNCS == 0:
            self.push()

    def push(self) -> None:
        now = int(time.time() * 1000)
        known = [(i, v) for i, v in self.visits.items() if v is not None]
        if known and random.random() < 0.5:
            visit, version = random.choice(known)
            name = "phone push, visit updated"
            changes = {
                "interactions": {
                    "updated": [
                        {
                            "id": visit,
                            "version": version,
                            "description": f"Intervention terminée {now}",
                            "_changed": "description",
                        }
                    ]
                }
            }
        else:
            visit = str(uuid.uuid4())
            name = "phone push, visit report"
            record = {
                "id": visit,
                "subject": "Visite client",
                "type": "meeting",
                "start_at": now - 3_600_000,
                "end_at": now,
                "all_day": False,
                "owner_id": self.account["id"],
                "contact_ids": json.dumps([random.choice(FIXTURES["contacts"])]),
                "company_ids": json.dumps([random.choice(FIXTURES["companies"])]),
                "created_at": now,
                "updated_at": now,
            }
            note = {"id": str(uuid.uuid4()), "interaction_id": visit, "text": "Chaudière révisée, RAS."}
            changes = {"interactions": {"created": [record]}, "notes": {"created": [note]}}
            self.visits[visit] = None
        body = {"changes": changes, "last_pulled_at": self.last}
        with self.client.post(
            f"/api/v1/sync/push?last_pulled_at={self.last}",
            headers=self.headers,
            json=body,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:200]}")
            elif any(response.json().get("rejected", {}).values()):
                response.failure(f"rejected {response.text[:200]}")
