"""The CRM-to-Google direction against the sandbox's Google emulation through Google's own client:
a person changed in Google since the sync last saw it (a stale etag) is read again, and the last
modified side wins."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers.google_contacts import GoogleEndpoints, PeopleClient, authorization_url, exchange_code
from services.sync.google.crm_side import CrmContacts
from services.sync.google.job_state import JobState, Link, Links
from services.sync.google.mapping import CrmContact, person_etag, view_of_person
from services.sync.google.to_google import push_contact

BACK = "http://127.0.0.1/callback"


def _client(sandbox, account: str) -> PeopleClient:
    endpoints = GoogleEndpoints.of_sandbox(sandbox.base_url)
    google = sandbox.google
    consent = requests.get(
        authorization_url(endpoints, google.client_id, BACK, "s", account), allow_redirects=False, timeout=5
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    grant = exchange_code(endpoints, google.client_id, google.client_secret, code, BACK)
    return PeopleClient(endpoints, google.client_id, google.client_secret, grant.refresh_token)


@pytest.fixture
def google(sandbox):
    client = _client(sandbox, "anne.durand@gmail.test")
    group = client.group("SimpleCRM")
    person = client.create(
        {
            "names": [{"givenName": "Anne", "familyName": "Durand"}],
            "memberships": [{"contactGroupMembership": {"contactGroupResourceName": group}}],
        }
    )
    return client, group, person


def _job(client: PeopleClient, group: str, contact: CrmContact, person: dict) -> JobState:
    links = Links()
    links.put(Link(contact.id, person["resourceName"], person_etag(person), view_of_person(person)))
    return JobState(
        None, "run", "runner", "org", "user", group, client, None, CrmContacts({contact.id: contact}), links
    )


def _anne(first_name: str, changed_ms: int) -> CrmContact:
    return CrmContact(
        "0190a1b2-0000-7000-8000-0000000000aa", first_name, "Durand", None, None, None, None, 2, changed_ms
    )


def test_a_stale_etag_and_a_later_crm_change_writes_the_crm_change_over_googles(google):
    client, group, person = google
    client.update(person["resourceName"], person_etag(person), {"names": [{"givenName": "Annie"}]}, ["names"])
    job = _job(client, group, _anne("Anne-Marie", changed_ms=2**50), person)  # the CRM's change is later

    push_contact(job, "0190a1b2-0000-7000-8000-0000000000aa")

    now = client.get(person["resourceName"])
    assert now["names"][0]["givenName"] == "Anne-Marie"
    [entry] = [e for e in job._log if e[3] == "conflict"]
    assert "the CRM's change is the later" in entry[4]
    assert job.links.by_contact[entry[0]].etag == person_etag(now)  # the next update will not be stale


def test_a_stale_etag_and_a_later_google_change_leaves_google_as_it_is(google):
    client, group, person = google
    client.update(person["resourceName"], person_etag(person), {"names": [{"givenName": "Annie"}]}, ["names"])
    job = _job(client, group, _anne("Anne-Marie", changed_ms=1), person)  # Google's change is later

    push_contact(job, "0190a1b2-0000-7000-8000-0000000000aa")

    assert client.get(person["resourceName"])["names"][0]["givenName"] == "Annie"
    [entry] = job._log
    assert entry[3] == "conflict" and "comes to the CRM at the next run" in entry[4]


def test_a_crm_change_goes_to_google_at_the_etag_last_seen(google):
    client, group, person = google
    job = _job(client, group, _anne("Anne-Marie", changed_ms=1), person)

    push_contact(job, "0190a1b2-0000-7000-8000-0000000000aa")

    now = client.get(person["resourceName"])
    assert now["names"][0]["givenName"] == "Anne-Marie"
    assert [(e[2], e[3], e[4]) for e in job._log] == [("to_google", "updated", "changed in Google: given")]
