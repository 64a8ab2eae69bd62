"""The conventions integrators expect: unknown query parameters and unreadable cursors are
refused, naming them, instead of answering the whole list or its first page."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api, create_user

V1 = "/api/v1"


def _refused(response, field: str) -> dict:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert field in [error["field"] for error in problem["errors"]], problem
    return problem


def test_an_unknown_query_parameter_on_a_list_is_refused_naming_it(org):
    response = org["admin"].get(f"{V1}/contacts", params={"email": "alice@pomme.fr"})
    assert _refused(response, "email")["detail"] == "unknown query parameter: email"


def test_an_unknown_query_parameter_on_a_read_is_refused_too(org):
    _refused(org["admin"].get(f"{V1}/me", params={"expand": "all"}), "expand")


@pytest.mark.parametrize("path", ["/interactions", "/notifications", "/sms/credits", "/projects"])
def test_an_unreadable_cursor_is_refused_not_answered_with_the_first_page(org, path):
    _refused(org["admin"].get(f"{V1}{path}", params={"cursor": "zzzz"}), "cursor")


def _company(api, name: str = "Pomme Siège Central") -> dict:
    response = api.post(f"{V1}/companies", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_record_read_carries_its_version_as_etag(org):
    company = _company(org["admin"])
    read = org["admin"].get(f"{V1}/companies/{company['id']}")
    assert read.headers["ETag"] == f'"{read.json()["version"]}"'


def test_an_update_with_a_stale_if_match_is_412_and_changes_nothing(org):
    api = org["admin"]
    company = _company(api)
    path = f"{V1}/companies/{company['id']}"

    refused = api.patch(path, json={"name": "Chambre 404"}, headers={"If-Match": '"999"'})

    assert refused.status_code == 412, refused.text
    assert refused.json()["errors"][0]["field"] == "If-Match"
    assert api.get(path).json()["name"] == "Pomme Siège Central"
    etag = api.get(path).headers["ETag"]
    changed = api.patch(path, json={"name": "Chambre 404"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != etag
    assert api.patch(path, json={"name": "Chambre 405"}, headers={"If-Match": etag}).status_code == 412


def test_a_delete_with_a_stale_if_match_is_412_and_deletes_nothing(org):
    api = org["admin"]
    company = _company(api)
    path = f"{V1}/companies/{company['id']}"
    assert api.delete(path, headers={"If-Match": '"999"'}).status_code == 412
    assert api.get(path).status_code == 200
    assert api.delete(path, headers={"If-Match": api.get(path).headers["ETag"]}).status_code == 204


def test_an_if_match_that_is_not_an_etag_is_refused_naming_it(org):
    company = _company(org["admin"])
    response = org["admin"].patch(
        f"{V1}/companies/{company['id']}", json={"name": "x"}, headers={"If-Match": "version 3"}
    )
    _refused(response, "If-Match")


def test_a_create_retried_with_its_idempotency_key_makes_one_contact(org):
    api = org["admin"]
    body = {"first_name": "Zoé", "last_name": "Lefèvre"}
    key = {"Idempotency-Key": "b1c9-contact-zoe"}

    first = api.post(f"{V1}/contacts", json=body, headers=key)
    again = api.post(f"{V1}/contacts", json=body, headers=key)

    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    found = api.get(f"{V1}/contacts", params={"q": "Lefèvre"}).json()["items"]
    assert [contact["id"] for contact in found] == [first.json()["id"]]


def test_the_same_idempotency_key_with_another_body_is_refused_naming_the_key(org):
    api = org["admin"]
    key = {"Idempotency-Key": "b1c9-company"}
    assert api.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}, headers=key).status_code == 201

    refused = api.post(f"{V1}/companies", json={"name": "Chambre 404"}, headers=key)

    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "Idempotency-Key"


def test_another_user_may_use_the_same_idempotency_key(system, org):
    api = org["admin"]
    member = system.login(create_user(api)["email"])
    key = {"Idempotency-Key": "b1c9-shared"}
    mine = api.post(f"{V1}/companies", json={"name": "Pomme"}, headers=key)
    other = member.post(f"{V1}/companies", json={"name": "Poire"}, headers=key)
    assert (mine.status_code, other.status_code) == (201, 201), other.text
    assert mine.json()["id"] != other.json()["id"]


def test_a_throttled_login_says_in_the_ietf_ratelimit_fields_its_quota_and_when_the_window_resets(
    system, org
):
    email = create_user(org["admin"])["email"]
    for attempt in range(system.settings.auth.login_failures_per_account):
        Api(system.base_url).post(f"{V1}/auth/login", json={"email": email, "password": f"mauvais-{attempt}"})

    blocked = Api(system.base_url).post(f"{V1}/auth/login", json={"email": email, "password": "encore-faux"})

    assert blocked.status_code == 429
    auth = system.settings.auth
    assert blocked.headers["RateLimit"] == f'"login-account";r=0;t={blocked.headers["Retry-After"]}'
    assert blocked.headers["RateLimit-Policy"] == (
        f'"login-account";q={auth.login_failures_per_account};w={auth.login_window_seconds}'
    )


def test_interactions_can_be_polled_by_updated_since(org):
    api = org["admin"]
    future = api.get(f"{V1}/interactions", params={"updated_since": "2999-01-01T00:00:00Z"})
    assert (future.status_code, future.json()["items"]) == (200, [])
    for unreadable in ("hier", "0", "2026-12-01"):
        _refused(api.get(f"{V1}/interactions", params={"updated_since": unreadable}), "updated_since")


@pytest.mark.parametrize("path", ["/contacts", "/companies"])
def test_contacts_and_companies_can_be_polled_by_updated_since(org, path):
    api = org["admin"]
    company = _company(api, "Pomme Magasin Nantes")
    contact = api.post(f"{V1}/contacts", json={"first_name": "Jeanne", "last_name": "Martin"}).json()
    changed = {"/contacts": contact, "/companies": company}[path]["updated_at"]

    since = api.get(f"{V1}{path}", params={"updated_since": changed})
    future = api.get(f"{V1}{path}", params={"updated_since": "2999-01-01T00:00:00+01:00"})

    assert since.status_code == 200, since.text
    assert {"/contacts": contact, "/companies": company}[path]["id"] in [
        item["id"] for item in since.json()["items"]
    ]
    assert (future.status_code, future.json()["items"]) == (200, [])
    for unreadable in ("hier", "0", "2026-12-01", "2026-12-01T09:00:00"):
        _refused(api.get(f"{V1}{path}", params={"updated_since": unreadable}), "updated_since")


def test_the_agenda_takes_a_day_or_a_date_time_with_its_offset(org):
    api = org["admin"]
    meeting = api.post(
        f"{V1}/interactions",
        json={"type": "meeting", "subject": "Réunion Chambre 404", "start_at": "2026-12-02T15:00:00+01:00"},
    )
    assert meeting.status_code == 201, meeting.text

    def agenda(since: str, until: str) -> list[str]:
        response = api.get(f"{V1}/agenda", params={"since": since, "until": until})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert meeting.json()["id"] in agenda("2026-12-02", "2026-12-02")
    assert meeting.json()["id"] in agenda("2026-12-02T12:00:00+01:00", "2026-12-02T18:00:00+01:00")
    assert meeting.json()["id"] not in agenda("2026-12-02T00:00:00+01:00", "2026-12-02T12:00:00+01:00")
    for since in ("0", "02/12/2026", "2026-12-02T09:00:00"):
        _refused(api.get(f"{V1}/agenda", params={"since": since, "until": "2026-12-31"}), "since")
    _refused(
        api.get(f"{V1}/agenda", params={"since": "2026-12-03T12:00:00Z", "until": "2026-12-02"}), "until"
    )


@pytest.mark.parametrize("path", ["/reports/emails", "/reports/sms"])
def test_the_reports_take_a_day_or_a_date_time_with_its_offset(org, path):
    api = org["admin"]
    for since, until in (("2026-12-01", "2026-12-31"), ("2026-12-01T00:00:00+01:00", "2026-12-31T23:59:59Z")):
        response = api.get(f"{V1}{path}", params={"since": since, "until": until})
        assert response.status_code == 200, response.text
    _refused(api.get(f"{V1}{path}", params={"since": "1733000000"}), "since")


def test_the_openapi_document_says_which_range_bounds_and_poll_times_are_taken(system):
    document = Api(system.base_url).get(f"{V1}/openapi.json").json()

    def parameter(path: str, name: str) -> dict:
        return next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name)["schema"]

    for path in ("/api/v1/agenda", "/api/v1/reports/emails", "/api/v1/reports/sms"):
        assert {"format": "date", "type": "string"} in _any_of(parameter(path, "since"))
        assert {"format": "date-time", "type": "string"} in _any_of(parameter(path, "until"))
    for path in ("/api/v1/contacts", "/api/v1/companies", "/api/v1/interactions"):
        formats = [option.get("format") for option in _any_of(parameter(path, "updated_since"))]
        assert "date-time" in formats and "date" not in formats


def _any_of(schema: dict) -> list[dict]:
    options = []
    for option in schema.get("anyOf", [schema]):
        options.extend(_any_of(option) if "anyOf" in option else [option])
    return [{k: v for k, v in option.items() if k in ("type", "format")} for option in options]
