"""Hostile bodies and names: deep JSON is a 400 naming the body, a file name cannot reverse itself."""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote

import pytest
import requests

from tests.e2e.test_logs import _lines_of

V1 = "/api/v1"
DEEP = b'{"email":' * 1000 + b'"alice@pomme.fr"' + b"}" * 1000


@pytest.mark.parametrize("body", [DEEP, b"[" * 100_000 + b"]" * 100_000])
def test_deep_json_on_the_public_login_is_a_400_naming_the_body_without_traceback(system, body):
    request_id = f"e2e-deep-{uuid.uuid4().hex}"
    answer = system.anonymous().post(
        f"{V1}/auth/login",
        data=body,
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
    )
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["errors"] == [{"field": "body", "message": "JSON nested deeper than 64 levels"}]
    assert "Traceback" not in json.dumps(_lines_of(system, request_id, expected=2))


def test_deep_json_on_an_authenticated_route_is_a_400_that_writes_nothing(org):
    answer = org["admin"].post(f"{V1}/contacts", data=DEEP, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "nested deeper" in answer.json()["detail"]
    assert org["admin"].get(f"{V1}/contacts").json()["items"] == []


def test_deep_json_on_the_mailjet_webhook_is_a_400_without_traceback(system):
    mailjet = system.settings.messaging.mailjet
    request_id = f"e2e-mailjet-{uuid.uuid4().hex}"
    answer = requests.post(
        f"{system.base_url}/webhooks/mailjet",
        data=b"[" * 5000 + b"]" * 5000,
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
        auth=(mailjet.webhook_user, mailjet.webhook_password),
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert "nested deeper" in answer.json()["detail"]
    assert "Traceback" not in json.dumps(_lines_of(system, request_id, expected=2))


def test_a_right_to_left_override_does_not_survive_in_a_download_name(org):
    admin = org["admin"]
    meeting = admin.post(
        f"{V1}/interactions",
        json={
            "subject": "Réunion chantier",
            "type": "meeting",
            "start_at": "2026-12-01T09:00:00+01:00",
            "end_at": "2026-12-01T10:00:00+01:00",
        },
    )
    assert meeting.status_code == 201, meeting.text
    upload = admin.post(
        f"{V1}/interactions/{meeting.json()['id']}/documents",
        files={"file": ("devis\u202efdp.exe", b"%PDF-1.4 devis", "application/pdf")},
        data={"document_type": "quote"},
    )
    assert upload.status_code == 201, upload.text

    download = admin.get(f"{V1}/documents/{upload.json()['id']}/content")
    disposition = download.headers["Content-Disposition"]
    assert "%E2%80%AE" not in disposition.upper()
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "devisfdp.exe"
