"""Dates and times at the calendar's edges are a 422 naming the field, never a 500.

Python's datetime ends at 9999-12-31: an offset turned to UTC, or a day added to
such a date, overflowed (OverflowError) in the services before they refused it.
"""

from __future__ import annotations

import base64
import json

import pytest

V1 = "/api/v1"
EDGES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


def _assert_problem(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]], problem
    return problem


@pytest.mark.parametrize("moment", EDGES)
def test_an_api_token_expiring_past_the_calendar_is_refused_naming_expires_at(org, moment):
    admin = org["admin"]
    before = admin.get(f"{V1}/auth/tokens").json()["items"]

    response = admin.post(f"{V1}/auth/tokens", json={"name": "Synchronisation compta", "expires_at": moment})

    _assert_problem(response, 422, "expires_at")
    assert admin.get(f"{V1}/auth/tokens").json()["items"] == before


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_employment_date_at_the_calendars_edge_is_refused_naming_it(org, day):
    admin = org["admin"]
    company = admin.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}).json()
    contact = admin.post(f"{V1}/contacts", json={"last_name": "Lefèvre"}).json()

    response = admin.post(
        f"{V1}/contacts/{contact['id']}/employments", json={"company_id": company["id"], "end_date": day}
    )

    _assert_problem(response, 422, "end_date")
    assert admin.get(f"{V1}/contacts/{contact['id']}").json()["employments"] == []


@pytest.mark.parametrize("moment", EDGES)
def test_a_contacts_cursor_holding_a_time_past_the_calendar_is_refused_naming_cursor(org, moment):
    raw = json.dumps(["contacts", "created_at", "desc", moment, "c-1"]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    response = org["admin"].get(
        f"{V1}/contacts", params={"sort": "created_at", "direction": "desc", "cursor": cursor}
    )

    _assert_problem(response, 422, "cursor")
