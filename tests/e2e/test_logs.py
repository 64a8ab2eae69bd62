"""Logs an operator can read, through the running system: one line per expected error,
a request id from the caller to every service's log line, event and answer."""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import select

from crm.database import create_service_engine
from services.contacts.models import outbox
from tests.e2e.conftest import System

V1 = "/api/v1"
ACCESS = "crm.access"


def _request_id() -> str:
    return f"e2e-{uuid.uuid4().hex}"


def _lines_of(system: System, request_id: str, expected: int, settle: float = 0.5) -> list[dict]:
    """The JSON log lines naming ``request_id``, once at least ``expected`` are written and no
    more came for ``settle`` seconds. A line that is not JSON is returned as ``{"raw": line}``."""
    deadline = time.monotonic() + 10
    found: list[dict] = []
    while time.monotonic() < deadline:
        found = []
        for line in system.log_path.read_text().splitlines():
            if request_id not in line:
                continue
            try:
                found.append(json.loads(line))
            except ValueError:
                found.append({"raw": line})
        if len(found) >= expected:
            time.sleep(settle)
            again = [line for line in system.log_path.read_text().splitlines() if request_id in line]
            if len(again) == len(found):
                return found
        time.sleep(0.1)
    return found


def test_an_unauthenticated_request_is_one_line_and_an_access_line_without_traceback(system):
    request_id = _request_id()
    answer = system.anonymous().get(f"{V1}/contacts", headers={"X-Request-ID": request_id})
    assert answer.status_code == 401

    lines = _lines_of(system, request_id, expected=2)
    assert all("raw" not in line and "traceback" not in line for line in lines), lines
    assert "Traceback" not in json.dumps(lines)
    errors = [line for line in lines if line["logger"] != ACCESS]
    assert len(errors) == 1 and len(lines) == 2, lines
    assert errors[0]["service"] == "gateway" and errors[0]["level"] == "WARNING"
    assert "Unauthenticated" in errors[0]["message"] and "org_id" not in errors[0]


def test_a_404_from_a_service_is_one_line_there_and_one_in_the_gateway_naming_the_caller(system, org):
    request_id = _request_id()
    answer = org["admin"].get(f"{V1}/contacts/no-such-contact", headers={"X-Request-ID": request_id})
    assert answer.status_code == 404

    lines = _lines_of(system, request_id, expected=3)
    assert "Traceback" not in json.dumps(lines) and all("traceback" not in line for line in lines)
    by_service = sorted((line["service"], line["logger"]) for line in lines)
    assert by_service == [
        ("contacts", "nameko.containers"),
        ("gateway", ACCESS),
        ("gateway", "nameko.containers"),
    ], lines
    for line in lines:
        assert line["org_id"] == org["id"] and line["user_id"] == org["admin"].user["id"]
        assert line["timestamp"] and line["level"] in ("WARNING", "INFO")


def test_the_request_id_comes_back_in_the_header_and_the_problem(system):
    request_id = _request_id()
    problem = system.anonymous().get(f"{V1}/me", headers={"X-Request-ID": request_id})
    assert problem.headers["X-Request-ID"] == request_id
    assert problem.json()["request_id"] == request_id

    made = system.anonymous().get("/healthz", headers={"X-Request-ID": "deux mots"})
    assert made.status_code == 200 and made.headers["X-Request-ID"] not in ("", "deux mots")
    unknown = system.anonymous().get(f"{V1}/nowhere")
    assert unknown.json()["request_id"] == unknown.headers["X-Request-ID"]


def test_the_access_line_names_method_route_template_status_and_duration(system, org):
    request_id = _request_id()
    contact = org["admin"].post(
        f"{V1}/contacts",
        json={"first_name": "Jeanne", "last_name": "Dupont"},
        headers={"X-Request-ID": request_id},
    )
    assert contact.status_code == 201, contact.text

    (access,) = [line for line in _lines_of(system, request_id, expected=1) if line["logger"] == ACCESS]
    assert (access["method"], access["route"], access["status"]) == ("POST", "/api/v1/contacts", 201)
    assert access["duration_ms"] > 0 and access["request_id"] == request_id
    assert access["service"] == "gateway" and access["org_id"] == org["id"]
    assert access["message"].startswith("POST /api/v1/contacts 201 ")

    request_id = _request_id()
    org["admin"].get(f"{V1}/contacts/{contact.json()['id']}", headers={"X-Request-ID": request_id})
    (access,) = _lines_of(system, request_id, expected=1)
    assert access["route"] == "/api/v1/contacts/<string:contact_id>"


def test_an_event_carries_the_request_id_of_the_request_that_made_it(system, org):
    request_id = _request_id()
    contact = org["admin"].post(
        f"{V1}/contacts",
        json={"first_name": "Chloé", "last_name": "Martin"},
        headers={"X-Request-ID": request_id},
    )
    assert contact.status_code == 201, contact.text

    engine = create_service_engine(system.settings, "contacts")
    try:
        with engine.connect() as connection:
            payloads = [
                row.payload
                for row in connection.execute(
                    select(outbox.c.payload).where(outbox.c.event_type == "contact_created")
                )
                if row.payload["record"]["id"] == contact.json()["id"]
            ]
    finally:
        engine.dispose()
    assert [payload["request_id"] for payload in payloads] == [request_id]
