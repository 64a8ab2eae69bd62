"""Google's official client (googleapiclient, google-auth) against the sandbox's Google emulation:
the consent and code exchange, People API listings with page and sync tokens, etags, groups, and
each refusal turned into one of our errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers.google_contacts import (
    CONTACTS_SCOPE,
    GoogleAccessRevoked,
    GoogleApiError,
    GoogleEndpoints,
    PeopleClient,
    StaleEtag,
    SyncTokenExpired,
    authorization_url,
    exchange_code,
    revoke,
)

REDIRECT = "https://crm.pomme.fr/api/v1/google/callback"


@pytest.fixture
def endpoints(sandbox) -> GoogleEndpoints:
    return GoogleEndpoints.of_sandbox(sandbox.base_url)


def consent(sandbox, endpoints: GoogleEndpoints, account: str, state: str = "state-1") -> dict[str, str]:
    url = authorization_url(endpoints, sandbox.google.client_id, REDIRECT, state, login_hint=account)
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connected(sandbox, endpoints: GoogleEndpoints, account: str) -> tuple[PeopleClient, str]:
    code = consent(sandbox, endpoints, account)["code"]
    grant = exchange_code(endpoints, sandbox.google.client_id, sandbox.google.client_secret, code, REDIRECT)
    client = PeopleClient(
        endpoints, sandbox.google.client_id, sandbox.google.client_secret, grant.refresh_token
    )
    return client, grant.refresh_token


def person(given: str, family: str, email: str, group: str | None = None) -> dict:
    body = {
        "names": [{"givenName": given, "familyName": family}],
        "emailAddresses": [{"value": email, "type": "home"}],
        "phoneNumbers": [{"value": "+33 6 12 34 56 78", "type": "mobile"}],
        "organizations": [{"name": "Pomme Siège Central", "title": "Acheteuse"}],
        "biographies": [{"value": "Rencontrée au salon", "contentType": "TEXT_PLAIN"}],
    }
    if group:
        body["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": group}}]
    return body


def test_consent_sends_the_browser_back_with_the_state_and_a_code_for_a_refresh_token(sandbox, endpoints):
    back = consent(sandbox, endpoints, "anne.durand@gmail.test", state="xyz")

    assert back["state"] == "xyz"
    grant = exchange_code(
        endpoints, sandbox.google.client_id, sandbox.google.client_secret, back["code"], REDIRECT
    )
    assert grant.refresh_token.startswith("1//") and CONTACTS_SCOPE in grant.scope.split()
    # A code is good once.
    with pytest.raises(GoogleAccessRevoked, match="invalid_grant"):
        exchange_code(
            endpoints, sandbox.google.client_id, sandbox.google.client_secret, back["code"], REDIRECT
        )


def test_a_wrong_client_secret_is_refused(sandbox, endpoints):
    code = consent(sandbox, endpoints, "anne.durand@gmail.test")["code"]

    with pytest.raises(GoogleAccessRevoked, match="invalid_client"):
        exchange_code(endpoints, sandbox.google.client_id, "not-the-secret", code, REDIRECT)


def test_created_contact_comes_back_in_googles_shape(sandbox, endpoints):
    client, _ = connected(sandbox, endpoints, "bruno@gmail.test")
    group = client.group("SimpleCRM")

    created = client.create(person("Anne", "Durand", "anne@pomme.fr", group))

    assert created["resourceName"].startswith("people/c")
    [source] = created["metadata"]["sources"]
    assert source["type"] == "CONTACT" and source["etag"].startswith("#") and source["updateTime"]
    assert created["names"][0]["displayName"] == "Anne Durand"
    assert created["emailAddresses"][0]["formattedType"] == "Home"
    assert created["phoneNumbers"][0]["canonicalForm"] == "+33612345678"
    assert created["organizations"][0] == {**created["organizations"][0], "name": "Pomme Siège Central"}
    assert created["biographies"][0]["value"] == "Rencontrée au salon"
    groups = {m["contactGroupMembership"]["contactGroupResourceName"] for m in created["memberships"]}
    assert groups == {group, "contactGroups/myContacts"}
    assert client.group("SimpleCRM") == group  # found, not made twice


def test_listing_pages_then_gives_a_sync_token_for_what_changes_next(sandbox, endpoints):
    client, _ = connected(sandbox, endpoints, "chloe@gmail.test")
    made = [client.create(person("Contact", str(n), f"c{n}@pomme.fr")) for n in range(5)]

    first = client.changes(None, None, page_size=2)
    pages, token = [first], first.next_page_token
    while token:
        pages.append(client.changes(None, token, page_size=2))
        token = pages[-1].next_page_token
    assert [len(p.people) for p in pages] == [2, 2, 1]
    assert first.total == 5 and pages[-1].next_sync_token
    client.update(made[1]["resourceName"], made[1]["etag"], {"names": [{"givenName": "Zoé"}]}, ["names"])
    sandbox.google.delete_person("chloe@gmail.test", made[2]["resourceName"])

    since = client.changes(pages[-1].next_sync_token, None, page_size=50)

    assert [(p["resourceName"], p.get("metadata", {}).get("deleted", False)) for p in since.people] == [
        (made[1]["resourceName"], False),
        (made[2]["resourceName"], True),
    ]


def test_a_stale_etag_is_refused_and_the_person_is_unchanged(sandbox, endpoints):
    client, _ = connected(sandbox, endpoints, "david@gmail.test")
    created = client.create(person("Anne", "Durand", "anne@pomme.fr"))
    client.update(created["resourceName"], created["etag"], {"names": [{"givenName": "Anna"}]}, ["names"])

    with pytest.raises(StaleEtag, match="etag is different"):
        client.update(created["resourceName"], created["etag"], {"names": [{"givenName": "X"}]}, ["names"])

    assert client.get(created["resourceName"])["names"][0]["givenName"] == "Anna"


def test_an_expired_sync_token_is_answered_as_google_does(sandbox, endpoints):
    client, _ = connected(sandbox, endpoints, "emma@gmail.test")
    token = client.changes(None, None, 50).next_sync_token
    sandbox.google.expire_sync_tokens("emma@gmail.test")

    with pytest.raises(SyncTokenExpired):
        client.changes(token, None, 50)
    raw = requests.get(
        f"{sandbox.base_url}/v1/people/me/connections",
        params={"personFields": "names", "syncToken": token},
        headers={"Authorization": "Bearer nothing"},
        timeout=5,
    )
    assert raw.status_code == 401 and raw.json()["error"]["status"] == "UNAUTHENTICATED"


def test_revoked_access_stops_the_client_once_its_access_token_is_refused(sandbox, endpoints):
    client, refresh_token = connected(sandbox, endpoints, "fanny@gmail.test")
    client.changes(None, None, 10)
    sandbox.google.revoke_account("fanny@gmail.test")

    with pytest.raises(GoogleAccessRevoked, match="expired or revoked"):
        client.changes(None, None, 10)
    assert revoke(endpoints, refresh_token) is False  # already revoked


def test_people_api_failures_are_retryable_errors(sandbox, endpoints):
    client, _ = connected(sandbox, endpoints, "gilles@gmail.test")
    sandbox.google.fail_next_calls("gilles@gmail.test", [503])

    with pytest.raises(GoogleApiError) as failed:
        client.changes(None, None, 10)

    assert failed.value.retryable and failed.value.status == 503
    assert client.changes(None, None, 10).total == 0
