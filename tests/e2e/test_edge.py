"""The gateway's edge behaviour: rate limits, CORS, health, docs, metrics, API tokens."""

from __future__ import annotations

from tests.e2e.conftest import ALLOWED_ORIGIN, PASSWORD, Api, create_user, unique

LOGIN = "/api/v1/auth/login"


def test_failed_logins_for_one_account_are_rate_limited(system, org):
    email = create_user(org["admin"])["email"]
    limit = system.settings.auth.login_failures_per_account
    for attempt in range(limit):
        wrong = Api(system.base_url).post(LOGIN, json={"email": email, "password": f"mauvais-{attempt}"})
        assert wrong.status_code == 401
    blocked = Api(system.base_url).post(LOGIN, json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "account" in blocked.json()["detail"]
    # another account is not affected
    assert system.login(org["admin_email"]).token


def test_failed_logins_from_one_address_are_rate_limited(system, org):
    address = "192.0.2.44"
    limit = system.settings.auth.login_failures_per_address
    for _ in range(limit):
        response = Api(system.base_url, address=address).post(
            LOGIN, json={"email": f"{unique('inconnu')}@pomme.fr", "password": "essai-au-hasard"}
        )
        assert response.status_code == 401
    blocked = Api(system.base_url, address=address).post(
        LOGIN, json={"email": org["admin_email"], "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert "address" in blocked.json()["detail"]
    assert (
        Api(system.base_url).post(LOGIN, json={"email": org["admin_email"], "password": PASSWORD}).status_code
        == 200
    )


def test_cors_preflight_and_headers_for_allowed_origin_only(system, org):
    api = system.anonymous()
    preflight = api.request(
        "OPTIONS",
        "/api/v1/me",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = org["admin"].get("/api/v1/me", headers={"Origin": ALLOWED_ORIGIN})
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    foreign = org["admin"].get("/api/v1/me", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_health_readiness_docs_and_metrics(system):
    api = system.anonymous()
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {
        "status": "ready",
        "services": {
            "accounts": "ok",
            "contacts": "ok",
            "messaging": "ok",
            "interactions": "ok",
            "notifier": "ok",
            "mailin": "ok",
            "sync": "ok",
        },
    }
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert api.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert api.get("/docs/static/../../etc/passwd").status_code == 404
    problem_type = api.get("/api/v1/me").json()["type"]
    page, _, anchor = problem_type.partition("#")
    assert f'id="{anchor}"' in api.get(page).text
    metrics = api.get("/metrics").text
    assert 'crm_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_api_token_acts_as_its_owner_until_revoked(system, org):
    admin = org["admin"]
    created = admin.post("/api/v1/auth/tokens", json={"name": "Synchronisation compta"})
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith("crm_") and token["prefix"] == token["token"][: len(token["prefix"])]
    integration = Api(system.base_url, token["token"])
    assert integration.get("/api/v1/me").json()["email"] == org["admin_email"]
    listed = admin.get("/api/v1/auth/tokens").json()["items"]
    assert [item["id"] for item in listed] == [token["id"]] and "token" not in listed[0]
    assert admin.delete(f"/api/v1/auth/tokens/{token['id']}").json()["revoked_at"]
    assert integration.get("/api/v1/me").status_code == 401


def test_settings_defaults_and_admin_change(system, org):
    admin = org["admin"]
    assert admin.get("/api/v1/settings").json() == {
        "multi_user_interactions": False,
        "allow_double_booking": False,
    }
    assert admin.patch("/api/v1/settings", json={"multi_user_interactions": True}).json() == {
        "multi_user_interactions": True,
        "allow_double_booking": False,
    }
    member = system.login(create_user(admin)["email"])
    assert member.get("/api/v1/settings").json() == {
        "multi_user_interactions": True,
        "allow_double_booking": False,
    }


def test_user_secrets_rotate(system, org):
    admin = org["admin"]
    secrets = admin.get("/api/v1/me/secrets").json()
    assert secrets["ingest_address"].endswith("@in.pomme.test")
    assert secrets["calendar_feed_token_set"] is False
    rotated = admin.post("/api/v1/me/secrets/ingest_address/rotate").json()
    assert rotated["value"] != secrets["ingest_address"]
    assert admin.get("/api/v1/me/secrets").json()["ingest_address"] == rotated["value"]
    calendar = admin.post("/api/v1/me/secrets/calendar_feed/rotate").json()
    assert calendar["value"].startswith("cal_")
    assert admin.get("/api/v1/me/secrets").json()["calendar_feed_token_set"] is True
    assert admin.post("/api/v1/me/secrets/carrier_pigeon/rotate").status_code == 422


def test_hourly_cost_is_hidden_from_other_members(system, org):
    admin = org["admin"]
    rich = create_user(admin, hourly_cost={"amount": "95.00", "currency": "EUR"})
    member = system.login(create_user(admin)["email"])
    assert member.get(f"/api/v1/users/{rich['id']}").json()["hourly_cost"] is None
    assert admin.get(f"/api/v1/users/{rich['id']}").json()["hourly_cost"] == {
        "amount": "95.00",
        "currency": "EUR",
    }
    assert system.login(rich["email"]).get("/api/v1/me").json()["hourly_cost"]["amount"] == "95.00"


def test_admin_resets_a_password_and_old_sessions_end(system, org):
    admin = org["admin"]
    user = create_user(admin)
    old = system.login(user["email"])
    assert (
        admin.patch(f"/api/v1/users/{user['id']}", json={"password": "Nouveau-mot-2026"}).status_code == 200
    )
    assert old.get("/api/v1/me").status_code == 401
    assert system.login(user["email"], "Nouveau-mot-2026").get("/api/v1/me").status_code == 200


def test_last_admin_cannot_be_demoted(org):
    admin = org["admin"]
    response = admin.patch(f"/api/v1/users/{admin.user['id']}", json={"role": "member"})
    assert response.status_code == 409
    assert admin.get("/api/v1/me").json()["role"] == "admin"


def test_an_id_holding_nul_in_the_path_is_not_found(system, org):
    admin = org["admin"]
    for method, path in (
        ("GET", "/api/v1/users/%00"),
        ("PATCH", "/api/v1/contacts/abc%00"),
        ("DELETE", "/api/v1/auth/tokens/%00"),
    ):
        response = admin.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["Content-Type"].startswith("application/problem+json")
