"""Google Contacts two-way sync through the whole system: the sync service runs Google's own
client (googleapiclient, google-auth) against the sandbox's Google emulation (`crm run` starts
it), and the test plays the user's browser and the user's phone (the same Google account through
Google's client, with a grant of its own)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from crm.settings import Settings
from providers.google_contacts import GoogleEndpoints, PeopleClient, authorization_url, exchange_code
from services.sync.google.mapping import PROFESSIONAL_MARK
from tests.e2e.conftest import unique

V1 = "/api/v1"
GOOGLE = f"{V1}/sync/google"
PHONE = {"X-Device-Id": "pixel-google-1", "X-App-Version": "2.4.0"}


def _sandbox(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.messaging.sandbox_port}"


def _phone(settings: Settings, account: str) -> PeopleClient:
    """The user's phone: Google's client on the same account, with its own grant."""
    google, endpoints = settings.sync.google, GoogleEndpoints.of_sandbox(_sandbox(settings))
    back = "http://127.0.0.1/phone"
    consent = requests.get(
        authorization_url(endpoints, google.client_id, back, "phone", account),
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    grant = exchange_code(endpoints, google.client_id, google.client_secret, code, back)
    return PeopleClient(endpoints, google.client_id, google.client_secret, grant.refresh_token)


def _connect(system, api, account: str) -> dict:
    started = api.post(f"{GOOGLE}/connection", json={"login_hint": account})
    assert started.status_code == 200, started.text
    consent = requests.get(started.json()["authorization_url"], allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    callback = consent.headers["Location"]
    assert callback.startswith(f"{system.base_url}{GOOGLE}/callback?")
    answer = requests.get(callback, timeout=30)  # the browser: no login
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "connected"
    return answer.json()["run"]


def _finished(api, run_id: str, timeout: float = 40.0) -> dict:
    deadline = time.time() + timeout
    while True:
        run = api.get(f"{GOOGLE}/runs/{run_id}").json()
        if run["status"] in ("done", "failed") or time.time() > deadline:
            return run
        time.sleep(0.2)


def _sync(api) -> dict:
    started = api.post(f"{GOOGLE}/runs")
    assert started.status_code == 202, started.text
    return _finished(api, started.json()["id"])


def _log(api, run_id: str) -> list[dict]:
    return api.get(f"{GOOGLE}/runs/{run_id}/log", params={"limit": 500}).json()["items"]


def _in_replica(api, versions: dict[str, int], timeout: float = 15.0) -> None:
    """Wait until sync's replica holds these contacts at these versions (events come a moment
    after the write); the user's phone pull shows what the replica holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pulled = api.get(f"{V1}/sync/pull", params={"last_pulled_at": "null"}, headers=PHONE).json()
        held = {r["id"]: r["version"] for r in pulled["changes"].get("contacts", {}).get("created", [])}
        if all(held.get(i, 0) >= v for i, v in versions.items()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the replica did not catch up with {versions}")


def _contact(api, **fields) -> dict:
    answer = api.post(f"{V1}/contacts", json=fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _google_people(system, account: str) -> dict[str, dict]:
    people = requests.get(
        f"{_sandbox(system.settings)}/_sandbox/google/accounts/{account}/people", timeout=10
    )
    return {p["resourceName"]: p for p in people.json()["people"]}


def _by_given(people: dict[str, dict]) -> dict[str, dict]:
    return {p["names"][0].get("givenName"): p for p in people.values() if p.get("names")}


@pytest.fixture
def account() -> str:
    return f"{unique('alice')}@gmail.test"


def test_connect_then_sync_both_ways_changes_conflicts_and_expired_tokens(system, org, account):
    admin = org["admin"]
    pomme = admin.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}).json()
    anne = _contact(
        admin, first_name="Anne", last_name="Durand", email="anne.durand@gmail.com", phone="0123456789"
    )
    chloe = _contact(
        admin,
        first_name="Chloé",
        last_name="Martin",
        email="chloe.martin@gmail.com",
        employments=[{"company_id": pomme["id"], "function": "Acheteuse", "email": "c.martin@pomme.fr"}],
    )
    david = _contact(admin, first_name="David", last_name="Roux", email="david@roux.fr")
    david_at_work = _contact(
        admin,
        first_name="Dave",
        last_name="Roux",
        employments=[{"company_id": pomme["id"], "email": "david@roux.fr"}],
    )
    _in_replica(admin, {c["id"]: c["version"] for c in (anne, chloe, david, david_at_work)})
    phone = _phone(system.settings, account)
    group = phone.group("SimpleCRM")
    in_group = [{"contactGroupMembership": {"contactGroupResourceName": group}}]
    phone.create(
        {
            "names": [{"givenName": "Bruno", "familyName": "Petit"}],
            "emailAddresses": [{"value": "b.petit@poire.fr", "type": "work"}],
            "organizations": [{"name": "Poire SA", "title": "Directeur"}],
            "memberships": in_group,
        }
    )
    phone.create(
        {
            "names": [{"givenName": "Anne"}],
            "emailAddresses": [{"value": "anne.durand@gmail.com"}],
            "memberships": in_group,
        }
    )
    phone.create(
        {
            "names": [{"givenName": "David"}],
            "emailAddresses": [{"value": "david@roux.fr"}],
            "memberships": in_group,
        }
    )
    phone.create({"names": [{"givenName": "Hors", "familyName": "Groupe"}]})  # not in the group: never synced

    first = _finished(admin, _connect(system, admin, account)["id"])

    assert first["status"] == "done", first
    assert first["full_listing"] is True
    assert first["counts"]["created_in_crm"] == 1 and first["counts"]["linked"] == 2
    people = _by_given(_google_people(system, account))
    assert "Hors" in people and "Bruno" in people
    made = people["Chloé"]
    assert {(e["value"], e["type"]) for e in made["emailAddresses"]} == {
        ("chloe.martin@gmail.com", "home"),
        ("c.martin@pomme.fr", "work"),
    }
    assert made["organizations"][0]["name"] == "Pomme Siège Central"
    assert group in {m["contactGroupMembership"]["contactGroupResourceName"] for m in made["memberships"]}
    assert [p["value"] for p in people["Anne"]["phoneNumbers"]] == [
        "0123456789"
    ]  # the CRM filled Google's gap
    bruno = [
        c
        for c in admin.get(f"{V1}/contacts", params={"q": "Bruno"}).json()["items"]
        if c["last_name"] == "Petit"
    ]
    assert (
        len(bruno) == 1
        and PROFESSIONAL_MARK in bruno[0]["note"]
        and "Organisation: Poire SA" in bruno[0]["note"]
    )
    log = _log(admin, first["id"])
    # One e-mail on two CRM contacts: the first (personal e-mail) is synced with Google's David,
    # the other is reported (and goes to Google as a contact of its own).
    [shared] = [e for e in log if e["contact_id"] == david_at_work["id"] and e["action"] == "skipped"]
    assert david["id"] in shared["detail"]
    linked = [(e["direction"], e["action"]) for e in log if e["contact_id"] == david["id"]]
    assert linked == [("to_crm", "linked"), ("to_google", "updated")]  # Google lacked the last name
    connection = admin.get(f"{GOOGLE}/connection").json()
    assert connection["status"] == "connected" and connection["last_error"] is None

    # A change on each side.
    changed = admin.patch(f"{V1}/contacts/{chloe['id']}", json={"mobile": "+33 6 11 22 33 44"}).json()
    _in_replica(admin, {chloe["id"]: changed["version"]})
    google_bruno = people["Bruno"]
    phone.update(
        google_bruno["resourceName"],
        google_bruno["etag"],
        {"names": [{"givenName": "Bruno", "familyName": "Petit-Jean"}]},
        ["names"],
    )

    second = _sync(admin)

    assert second["status"] == "done", second
    assert (second["counts"]["updated_in_crm"], second["counts"]["updated_in_google"]) == (1, 1)
    assert admin.get(f"{V1}/contacts/{bruno[0]['id']}").json()["last_name"] == "Petit-Jean"
    phones = {
        (p["value"], p["type"]) for p in _by_given(_google_people(system, account))["Chloé"]["phoneNumbers"]
    }
    assert ("+33 6 11 22 33 44", "mobile") in phones

    # Both sides change the same contact: the later change wins.
    renamed = admin.patch(f"{V1}/contacts/{anne['id']}", json={"first_name": "Anne-Marie"}).json()
    _in_replica(admin, {anne["id"]: renamed["version"]})
    time.sleep(0.05)
    google_anne = _by_given(_google_people(system, account))["Anne"]
    phone.update(
        google_anne["resourceName"], google_anne["etag"], {"names": [{"givenName": "Annie"}]}, ["names"]
    )

    third = _sync(admin)

    assert third["status"] == "done" and third["counts"]["conflicts"] == 1, third
    assert admin.get(f"{V1}/contacts/{anne['id']}").json()["first_name"] == "Annie"
    [conflict] = [e for e in _log(admin, third["id"]) if e["action"] == "conflict"]
    assert conflict["contact_id"] == anne["id"] and "Google's change is the later" in conflict["detail"]

    # Google forgets the sync token: everything is listed again, nothing is made twice.
    requests.post(
        f"{_sandbox(system.settings)}/_sandbox/google/accounts/{account}/expire-sync-tokens", timeout=10
    )

    fourth = _sync(admin)

    assert fourth["status"] == "done" and fourth["full_listing"] is True, fourth
    assert fourth["counts"]["created_in_crm"] == fourth["counts"]["created_in_google"] == 0
    assert len(_google_people(system, account)) == 6


def test_revoked_google_access_stops_the_job_with_a_reason_and_it_retries_later(system, org, account):
    admin = org["admin"]
    first = _finished(admin, _connect(system, admin, account)["id"])
    assert first["status"] == "done", first
    sandbox = f"{_sandbox(system.settings)}/_sandbox/google/accounts/{account}"
    contacts_before = admin.get(f"{V1}/contacts").json()["items"]

    requests.post(f"{sandbox}/failures", json={"statuses": [503]}, timeout=10)
    unavailable = _sync(admin)
    assert (unavailable["status"], unavailable["error_code"]) == ("failed", "google_unavailable")

    requests.post(f"{sandbox}/revoke", timeout=10)
    requests.post(f"{sandbox}/expire-access-tokens", timeout=10)
    revoked = _sync(admin)

    assert (revoked["status"], revoked["error_code"]) == ("failed", "google_access_revoked"), revoked
    connection = admin.get(f"{GOOGLE}/connection").json()
    assert connection["last_error_code"] == "google_access_revoked"
    assert "connect Google again" in connection["last_error"]
    assert connection["next_run_at"] is not None  # tried again later
    assert admin.get(f"{V1}/contacts").json()["items"] == contacts_before

    # Connecting again mends it.
    again = _finished(admin, _connect(system, admin, account)["id"])
    assert again["status"] == "done", again

    assert admin.delete(f"{GOOGLE}/connection").status_code == 204
    assert admin.get(f"{GOOGLE}/connection").status_code == 404
    tokens = admin.get(f"{V1}/auth/tokens").json()["items"]
    made = [t for t in tokens if t["name"] == "Google Contacts sync"]
    assert len(made) == 1 and made[0]["revoked_at"]  # the job's CRM access ends with the connection


def test_callback_with_an_unknown_state_is_refused_and_reveals_nothing(system):
    answer = requests.get(
        f"{system.base_url}{GOOGLE}/callback", params={"state": "forged", "code": "4/0A"}, timeout=10
    )

    assert answer.status_code == 422
    assert "start connecting Google again" in answer.json()["detail"]
