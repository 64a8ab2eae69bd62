"""Bad input gets a clear 4xx problem naming what is wrong, and changes nothing."""

from __future__ import annotations

from tests.e2e.conftest import create_user, unique

USERS = "/api/v1/users"


def _user_count(admin) -> int:
    return len(admin.get(USERS, params={"limit": 200, "include_inactive": "true"}).json()["items"])


def _assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) == {"type", "title", "status", "detail", "errors", "request_id"}
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert problem["status"] == status
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem
    return problem


def test_malformed_json_is_400_and_writes_nothing(org):
    admin = org["admin"]
    before = _user_count(admin)
    response = admin.post(
        USERS, data='{"email": "x@pomme.fr", "name": ', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in _assert_problem(response, 400)["detail"]
    assert _user_count(admin) == before


def test_wrong_content_type_is_415(org):
    response = org["admin"].post(
        USERS, data="email=x@pomme.fr", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    _assert_problem(response, 415)


def test_unknown_field_wrong_type_and_over_long_string_are_named(org):
    admin = org["admin"]
    before = _user_count(admin)
    response = admin.post(
        USERS,
        json={
            "email": f"{unique('x')}@pomme.fr",
            "name": "N" * 201,
            "read_only": "peut-être",
            "couleur": "rouge",
            "hourly_cost": {"amount": "12.345", "currency": "EURO"},
            "time_zone": "Europe/Pommeville",
        },
    )
    problem = _assert_problem(response, 422)
    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert fields["couleur"] == "unknown field"
    assert {"name", "read_only", "time_zone", "hourly_cost.currency", "hourly_cost.amount"} <= set(fields)
    assert _user_count(admin) == before


def test_json_that_is_not_an_object_is_422(org):
    _assert_problem(org["admin"].post(USERS, json=["alice@pomme.fr"]), 422, "body")


def test_invalid_email_is_422_naming_email(org):
    _assert_problem(org["admin"].post(USERS, json={"email": "alice-at-pomme", "name": "Alice"}), 422, "email")


def test_duplicate_email_is_409_naming_email_and_writes_nothing(org):
    admin = org["admin"]
    existing = create_user(admin)
    before = _user_count(admin)
    response = admin.post(USERS, json={"email": existing["email"].upper(), "name": "Doublon"})
    _assert_problem(response, 409, "email")
    assert _user_count(admin) == before


def test_stale_version_is_409(org):
    admin = org["admin"]
    user = create_user(admin)
    assert admin.patch(f"{USERS}/{user['id']}", json={"name": "Bruno P.", "version": 1}).status_code == 200
    stale = admin.patch(f"{USERS}/{user['id']}", json={"name": "Bruno Petit", "version": 1})
    _assert_problem(stale, 409, "version")
    assert admin.get(f"{USERS}/{user['id']}").json()["name"] == "Bruno P."


def test_idempotent_create_with_caller_id(org):
    admin = org["admin"]
    body = {"id": unique("tel"), "email": f"{unique('x')}@pomme.fr", "name": "Créé hors ligne"}
    first = admin.post(USERS, json=body)
    again = admin.post(USERS, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] == body["id"]
    conflict = admin.post(USERS, json=body | {"name": "Autre contenu"})
    _assert_problem(conflict, 409, "id")


def test_body_over_the_limit_is_413(system, org):
    limit = system.settings.gateway.max_body_bytes
    response = org["admin"].post(
        USERS, data=b"{" + b" " * limit + b"}", headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 413)


def test_bad_query_parameter_and_cursor_are_422(org):
    _assert_problem(org["admin"].get(USERS, params={"limit": "beaucoup"}), 422, "limit")
    _assert_problem(org["admin"].get(USERS, params={"limit": 0}), 422, "limit")
    _assert_problem(org["admin"].get(USERS, params={"cursor": "%%%"}), 422, "cursor")


def test_unknown_route_and_method_are_problems(system):
    api = system.anonymous()
    assert _assert_problem(api.get("/api/v1/nulle-part"), 404)["type"].endswith("unknown-route")
    assert _assert_problem(api.request("PUT", "/api/v1/me"), 405)["type"].endswith("method-not-allowed")


def test_missing_or_bad_authorization_is_401(system):
    api = system.anonymous()
    _assert_problem(api.get("/api/v1/me"), 401)
    _assert_problem(api.get("/api/v1/me", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"}), 401)
    _assert_problem(api.post(USERS, json={"email": "a@pomme.fr", "name": "A"}), 401)


def test_pagination_walks_every_user_once(org):
    admin = org["admin"]
    created = {create_user(admin)["id"] for _ in range(3)}
    seen, cursor = [], None
    while True:
        page = admin.get(USERS, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [user["id"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert created <= set(seen)


def test_chunked_body_without_length_is_411_and_writes_nothing(org):
    admin = org["admin"]
    before = _user_count(admin)
    chunks = iter([b'{"email": "chunk@pomme.fr", ', b'"name": "Morceau"}'])
    response = admin.post(USERS, data=chunks, headers={"Content-Type": "application/json"})
    _assert_problem(response, 411)
    assert _user_count(admin) == before
