"""A whole run of the Google sync on sync's own database (SQLite), Google's own client against the
sandbox's emulation, and a stand-in for the contacts service: a run whose process dies in the middle
is taken over and ends with nothing made twice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select, update

from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.times import utcnow
from providers.google_contacts import GoogleEndpoints, PeopleClient, authorization_url, exchange_code
from services.sync import records as r
from services.sync.google import runner, runs
from services.sync.google import secrets as token_box
from services.sync.google.connections import GoogleSetup
from services.sync.google.models import GoogleConnection, GoogleLink, GoogleRun
from services.sync.models import ChangeCounter, ReplicaRecord

ORG, USER, ACCOUNT = "org-pomme", "user-alice", "alice@gmail.test"
BACK = "http://127.0.0.1/callback"


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing of the runner's handling runs."""


class ContactsStandIn:
    """``create_contacts`` / ``update_contacts`` / ``get_contact`` as the contacts service answers them."""

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}

    def __call__(self, method: str, *args: Any) -> dict[str, Any]:
        if method == "create_contacts":
            return {"items": [self._create(item) for item in args[0]]}
        if method == "update_contacts":
            return {"items": [self._update(item["id"], item["changes"]) for item in args[0]]}
        return self.contacts[args[0]]

    def _update(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        record = self.contacts[contact_id]
        record.update({k: v for k, v in changes.items() if k != "version"}, version=record["version"] + 1)
        return record

    def _create(self, item: dict[str, Any]) -> dict[str, Any]:
        record = {**item, "version": 1, "updated_at": utcnow().isoformat(), "employments": []}
        self.contacts.setdefault(record["id"], record)
        return self.contacts[record["id"]]


class DyingPeople:
    """Google's client, until the ``dies_after``-th person made (then the process dies)."""

    def __init__(self, client: PeopleClient, dies_after: int | None):
        self._client, self._left = client, dies_after

    def create_many(self, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        made = self._client.create_many(people)
        if self._left is not None:
            self._left -= len(made)
            if self._left <= 0:
                raise ProcessDied
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def db(unit_settings):
    upgrade(unit_settings, "sync")
    engine = create_service_engine(unit_settings, "sync")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


def _refresh_token(sandbox) -> str:
    endpoints = GoogleEndpoints.of_sandbox(sandbox.base_url)
    url = authorization_url(endpoints, sandbox.google.client_id, BACK, "s", ACCOUNT)
    code = parse_qs(urlsplit(requests.get(url, allow_redirects=False, timeout=5).headers["Location"]).query)
    return exchange_code(
        endpoints, sandbox.google.client_id, sandbox.google.client_secret, code["code"][0], BACK
    ).refresh_token


def _services(sandbox, box, contacts: ContactsStandIn, dies_after: int | None) -> runner.JobServices:
    endpoints = GoogleEndpoints.of_sandbox(sandbox.base_url)
    setup = GoogleSetup(
        endpoints, sandbox.google.client_id, sandbox.google.client_secret, BACK, "SimpleCRM", 5
    )
    return runner.JobServices(
        setup=setup,
        box=box,
        access_token_for=lambda api_token: "access",
        contacts_for=lambda access_token: contacts,
        interval=timedelta(minutes=15),
        retry=timedelta(minutes=10),
        people_for=lambda refresh: DyingPeople(
            PeopleClient(endpoints, setup.client_id, setup.client_secret, refresh), dies_after
        ),
    )


def test_a_run_whose_process_died_is_taken_over_and_makes_nothing_twice(db, sandbox, unit_settings):
    box = token_box.cipher("a passphrase of this test", unit_settings.data_dir)
    now = utcnow()
    with db.transaction() as uow:
        for n in range(120):  # three batches of 50 to Google
            raw = r.contact_raw(
                {"id": f"contact-{n:03d}", "first_name": "Client", "last_name": str(n), "version": 1}
            )
            uow.session.add(
                ReplicaRecord(
                    org_id=ORG,
                    table_name=r.CONTACTS,
                    record_id=raw["id"],
                    seq=n + 1,
                    version=1,
                    deleted=False,
                    raw=json.dumps(raw),
                )
            )
        connection = GoogleConnection(
            user_id=USER,
            org_id=ORG,
            status="connected",
            refresh_token=token_box.encrypt(box, _refresh_token(sandbox)),
            crm_token=token_box.encrypt(box, "crm_api_token"),
            crm_token_id="token-1",
            group_name="SimpleCRM",
            crm_seq=0,
            created_at=now,
            updated_at=now,
        )
        uow.session.execute(update(ChangeCounter).values(seq=120))  # as the feed would have counted
        uow.session.add(connection)
        uow.session.flush()
        run, _ = runs.open_run(uow.session, connection, "connect")
        run_id = run.id
    contacts = ContactsStandIn()

    with pytest.raises(ProcessDied):  # dies once its second batch is made in Google: 50 linked, 50 not
        runner.run(db, run_id, _services(sandbox, box, contacts, dies_after=70))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(GoogleLink)) == 50
        assert session.get(GoogleRun, run_id).status == "running"
    with db.transaction() as uow:  # its lease runs out
        uow.session.execute(update(GoogleRun).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    runner.run(db, run_id, _services(sandbox, box, contacts, dies_after=None))

    with db.read() as session:
        done = session.get(GoogleRun, run_id)
        assert (done.status, done.crm_done, done.crm_total) == ("done", 120, 120)
        assert session.scalar(select(func.count()).select_from(GoogleLink)) == 120
    people = sandbox.google.people_of(ACCOUNT)
    assert len(people) == 120  # the 50 made before the death were linked back, not made again
    assert sorted(p["names"][0]["familyName"] for p in people) == sorted(str(n) for n in range(120))
    assert contacts.contacts == {}  # nothing came back into the CRM as a new contact
