"""The foundation story: bootstrap, log in, manage users, and every refusal."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import create_service_engine
from services.accounts.models import SigningKey
from tests.e2e.conftest import PASSWORD, Api, create_user, unique

USERS = "/api/v1/users"


def test_admin_bootstrapped_by_cli_logs_in_and_manages_a_member(system):
    email = f"{unique('gerante')}@pomme.fr"
    bootstrap = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "--config",
            str(system.config_path),
            "admin",
            "bootstrap",
            "--org",
            "Pomme Siège Central",
            "--email",
            email,
            "--name",
            "Claire Durand",
        ],
        env={**os.environ, "CRM_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert "Pomme Siège Central" in bootstrap.stdout

    admin = system.login(email)
    assert admin.get("/api/v1/me").json()["role"] == "admin"

    created = admin.post(
        USERS,
        json={
            "email": f"{unique('bruno')}@pomme.fr",
            "name": "Bruno Petit",
            "password": PASSWORD,
            "hourly_cost": {"amount": "42.50", "currency": "EUR"},
            "time_zone": "Europe/Paris",
        },
    )
    assert created.status_code == 201, created.text
    member_record = created.json()
    assert created.headers["Location"] == f"{USERS}/{member_record['id']}"
    assert member_record["hourly_cost"] == {"amount": "42.50", "currency": "EUR"}

    member = system.login(member_record["email"])
    me = member.get("/api/v1/me").json()
    assert (me["id"], me["role"], me["time_zone"]) == (member_record["id"], "member", "Europe/Paris")
    listed = [user["email"] for user in member.get(USERS).json()["items"]]
    assert sorted(listed) == sorted([email, member_record["email"]])


def test_member_gets_403_on_admin_routes(system, org):
    member = system.login(create_user(org["admin"])["email"])
    colleague = create_user(org["admin"])
    refusals = [
        member.post(USERS, json={"email": f"{unique('x')}@pomme.fr", "name": "Intrus"}),
        member.patch(f"{USERS}/{colleague['id']}", json={"role": "admin"}),
        member.post(f"{USERS}/{colleague['id']}/deactivate"),
        member.post(f"{USERS}/{colleague['id']}/reactivate"),
        member.patch("/api/v1/settings", json={"multi_user_interactions": True}),
    ]
    for response in refusals:
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["title"] == "Admin only"
    assert org["admin"].get(f"{USERS}/{colleague['id']}").json()["role"] == "member"


def _write_operations(system) -> list[tuple[str, str]]:
    document = system.anonymous().get("/api/v1/openapi.json").json()
    exempt = {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"}
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
        and path not in exempt
        and not path.startswith("/webhooks/")  # providers prove themselves by signature, not token
        # Marking one's own notifications read is reading state, allowed to read-only users.
        and not path.startswith("/api/v1/notifications/{notification_id}/read")
        and path != "/api/v1/notifications/read-all"
        # Their own sync alerts too, and their own preferences (they change no CRM data).
        and path != "/api/v1/sync/alerts/{alert_id}/read"
        and path != "/api/v1/me/preferences"
        # A read-only user's phone may push: every change is refused as read-only, with an alert
        # (docs/sync.md), a 200 the phone understands rather than a 403 it would retry.
        and path != "/api/v1/sync/push"
    ]


def test_read_only_user_gets_403_on_every_write(system, org):
    admin = org["admin"]
    reader = create_user(admin, read_only=True, role="admin")
    victim = create_user(admin)
    read_only = system.login(reader["email"])
    bodies = {
        f"POST {USERS}": {"email": f"{unique('x')}@pomme.fr", "name": "Nouveau"},
        "PATCH /api/v1/users/{user_id}": {"name": "Renommé"},
        "PATCH /api/v1/settings": {"multi_user_interactions": True},
        "PATCH /api/v1/me": {"name": "Renommé"},
        "POST /api/v1/auth/tokens": {"name": "intégration"},
    }
    operations = _write_operations(system)
    assert len(operations) >= 8
    for method, path in operations:
        body = bodies.get(f"{method} {path}")
        concrete = (
            path.replace("{user_id}", victim["id"])
            .replace("{token_id}", "0")
            .replace("{kind}", "ingest_address")
        )
        response = read_only.request(method, concrete, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["title"] == "Read-only user"
    # nothing changed
    after = admin.get(f"{USERS}/{victim['id']}").json()
    assert (after["name"], after["active"], after["version"]) == (victim["name"], True, 1)
    assert admin.get("/api/v1/settings").json() == {
        "multi_user_interactions": False,
        "allow_double_booking": False,
    }
    # and reading still works
    assert read_only.get("/api/v1/me").status_code == 200
    assert read_only.get(USERS).status_code == 200


def test_user_of_another_org_is_not_found(system, org):
    other_org_id, other_admin_email = system.bootstrap_org("Brioche & Fils")
    stranger = system.login(other_admin_email).user
    admin = org["admin"]
    for response in (
        admin.get(f"{USERS}/{stranger['id']}"),
        admin.patch(f"{USERS}/{stranger['id']}", json={"name": "Volé"}),
        admin.post(f"{USERS}/{stranger['id']}/deactivate"),
    ):
        assert response.status_code == 404, response.text
    assert stranger["id"] not in [user["id"] for user in admin.get(USERS).json()["items"]]
    assert system.login(other_admin_email).get("/api/v1/me").json()["name"] == "Alice Martin"


def _current_private_key(system):
    engine = create_service_engine(system.settings, "accounts")
    try:
        with Session(engine) as session:
            key = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())).first()
            return key.kid, load_pem_private_key(key.private_key.encode(), password=None)
    finally:
        engine.dispose()


def _claims(user: dict, session_id: str, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": "crm",
        "aud": "crm",
        "sub": user["id"],
        "org": user["org_id"],
        "role": user["role"],
        "ro": False,
        "sid": session_id,
        "iat": now,
        "exp": now + 600,
    }
    return claims | overrides


def test_expired_forged_foreign_key_and_garbage_tokens_are_401(system, org):
    admin = org["admin"]
    real_claims = jwt.decode(admin.token, options={"verify_signature": False})
    kid, private_key = _current_private_key(system)
    now = int(time.time())
    tokens = {
        "expired": jwt.encode(
            _claims(admin.user, real_claims["sid"], iat=now - 3600, exp=now - 60),
            private_key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "forged": jwt.encode(
            _claims(admin.user, real_claims["sid"]),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "foreign key": jwt.encode(
            _claims(admin.user, real_claims["sid"]),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": "01a2-not-ours"},
        ),
        "symmetric": jwt.encode(
            _claims(admin.user, real_claims["sid"]), "secret", algorithm="HS256", headers={"kid": kid}
        ),
        "tampered": admin.token[:-4] + ("AAAA" if not admin.token.endswith("AAAA") else "BBBB"),
        "garbage": "not-a-token",
    }
    for name, token in tokens.items():
        response = Api(system.base_url, token).get("/api/v1/me")
        assert response.status_code == 401, (name, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert system.anonymous().get("/api/v1/me").status_code == 401
    # a token signed by the real key with the real claims passes, so the refusals above are about the token
    genuine = jwt.encode(
        _claims(admin.user, real_claims["sid"]), private_key, algorithm="EdDSA", headers={"kid": kid}
    )
    assert Api(system.base_url, genuine).get("/api/v1/me").status_code == 200


def test_revoked_refresh_token_is_401(system, org):
    api = system.login(org["admin_email"])
    assert api.post("/api/v1/auth/logout", json={"refresh_token": api.refresh_token}).status_code == 204
    refreshed = system.anonymous().post("/api/v1/auth/refresh", json={"refresh_token": api.refresh_token})
    assert refreshed.status_code == 401
    assert api.get("/api/v1/me").status_code == 401  # accounts refuses the signed-out session at once


def test_refresh_rotates_and_a_replayed_refresh_token_signs_the_session_out(system, org):
    api = system.login(org["admin_email"])
    first = system.anonymous().post("/api/v1/auth/refresh", json={"refresh_token": api.refresh_token})
    assert first.status_code == 200
    new_pair = first.json()
    assert Api(system.base_url, new_pair["access_token"]).get("/api/v1/me").status_code == 200
    replay = system.anonymous().post("/api/v1/auth/refresh", json={"refresh_token": api.refresh_token})
    assert replay.status_code == 401
    after_theft = system.anonymous().post(
        "/api/v1/auth/refresh", json={"refresh_token": new_pair["refresh_token"]}
    )
    assert after_theft.status_code == 401


def test_deactivated_user_is_signed_out_and_cannot_log_in(system, org):
    record = create_user(org["admin"])
    member = system.login(record["email"])
    assert org["admin"].post(f"{USERS}/{record['id']}/deactivate").json()["active"] is False
    assert member.get("/api/v1/me").status_code == 401
    again = system.anonymous().post(
        "/api/v1/auth/login", json={"email": record["email"], "password": PASSWORD}
    )
    assert again.status_code == 401
    assert org["admin"].post(f"{USERS}/{record['id']}/reactivate").json()["active"] is True
    assert system.login(record["email"]).get("/api/v1/me").status_code == 200
