"""A user's calendar feed over HTTP (GET /calendar/<token>.ics, no login), read by two independent
parsers: ical.js (pinned in tests/js, run by Node as a JavaScript calendar would) and icalendar.

Alice lives in Paris; her feed shows her meetings there, an all-day fair across the night the
clocks go back, a meeting with colleagues who accepted, refused or have not answered, a
cancelled one, Bruno's meeting she is invited to; not a deleted one. Events reach sync a moment
after each write: the test asks again until the feed shows them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.e2e.conftest import create_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: ical.js needs it"),
]

V1 = "/api/v1"
TOOLS = Path(__file__).parents[1] / "js"


def _eventually(check, timeout: float = 15.0):
    """Events reach sync a moment after the write: ask again until ``check`` answers."""
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.3)


def _gone(client, path: str):
    """The 404 that ``path`` answers within 5 s (sync hears of a rotation or deactivation a moment
    after it), or None."""

    def answer():
        response = client.get(path)
        return [response] if response.status_code == 404 else None

    found = _eventually(answer, timeout=5.0)
    return found[0] if found else None


def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _paris_autumn_change(today: date) -> date:
    """The last Sunday of October (Paris leaves summer time) at most 60 days ago: in the feed's
    window (90 days back, 365 ahead) whenever the test runs."""
    for year in (today.year - 1, today.year, today.year + 1):
        last = date(year, 10, 31)
        sunday = last - timedelta(days=(last.weekday() - 6) % 7)
        if sunday >= today - timedelta(days=60):
            return sunday
    raise AssertionError("unreachable")


def _ical_js(text: str) -> dict:
    if not (TOOLS / "node_modules" / "ical.js").exists():
        pytest.fail(f"ical.js is not installed: run npm ci --prefix {TOOLS}")
    parsed = subprocess.run(
        ["node", str(TOOLS / "parse_ical.mjs")],
        cwd=TOOLS,
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        # Floating times would read as UTC: a zone ical.js could not resolve shows in the times.
        env={**os.environ, "TZ": "UTC"},
    )
    assert parsed.returncode == 0, parsed.stderr
    return json.loads(parsed.stdout)


def _attendees(event) -> list:
    """icalendar answers one ATTENDEE as itself and several as a list."""
    found = event.get("attendee", [])
    return found if isinstance(found, list) else [found]


def _meeting(api, subject: str, start: str, **fields) -> dict:
    return _ok(
        api.post(
            f"{V1}/interactions", json={"subject": subject, "type": "meeting", "start_at": start, **fields}
        )
    )


def test_a_users_calendar_feed_read_by_ical_js_and_icalendar(system, org):
    alice = org["admin"]
    _ok(alice.patch(f"{V1}/me", json={"time_zone": "Europe/Paris"}))
    _ok(alice.patch(f"{V1}/settings", json={"multi_user_interactions": True}))
    bruno = system.login(create_user(alice, name="Bruno Petit")["email"])
    chloe = system.login(create_user(alice, name="Chloé Durand")["email"])
    daniel = system.login(create_user(alice, name="Daniel Roux")["email"])
    token = _ok(alice.post(f"{V1}/me/secrets/calendar_feed/rotate"))["value"]
    feed_path = f"/calendar/{token}.ics"

    sunday = _paris_autumn_change(datetime.now(UTC).date())
    saturday, monday = sunday - timedelta(days=1), sunday + timedelta(days=1)
    dupont = _ok(
        alice.post(
            f"{V1}/companies",
            json={
                "name": "Boulangerie Dupont",
                "address": {"street": "12 rue de la Paix", "postal_code": "75002", "city": "Paris"},
            },
        )
    )
    # 10:00 in Paris on either side of the change: 08:00 UTC in summer time, 09:00 after.
    before = _meeting(
        alice, "Livraison farine", f"{saturday}T10:00:00+02:00", end_at=f"{saturday}T11:30:00+02:00"
    )
    after = _meeting(
        alice, "Visite Boulangerie Dupont", f"{monday}T10:00:00+01:00", company_ids=[dupont["id"]]
    )
    # Saturday to Monday, as a Paris writer sends it (each midnight in its own offset).
    fair = _meeting(
        alice,
        "Salon de la boulangerie",
        f"{saturday}T00:00:00+02:00",
        end_at=f"{monday}T00:00:00+01:00",
        all_day=True,
    )
    soon = (datetime.now(UTC) + timedelta(days=3)).date()
    team = _meeting(alice, "Réunion d'équipe", f"{soon}T14:00:00+01:00", end_at=f"{soon}T15:00:00+01:00")
    for colleague in (bruno, chloe, daniel):
        _ok(
            alice.post(f"{V1}/interactions/{team['id']}/participants", json={"user_id": colleague.user["id"]})
        )
    _ok(bruno.post(f"{V1}/interactions/{team['id']}/participants/me/accept"))
    _ok(chloe.post(f"{V1}/interactions/{team['id']}/participants/me/refuse"))
    brunos = _meeting(bruno, "Point commercial", f"{soon}T09:00:00+01:00")
    # Bruno's own feed shows his meeting: sync has it before it hears of Alice's invitation.
    brunos_feed = f"/calendar/{_ok(bruno.post(f'{V1}/me/secrets/calendar_feed/rotate'))['value']}.ics"
    assert _eventually(lambda: brunos["id"] in system.anonymous().get(brunos_feed).text)
    _ok(bruno.post(f"{V1}/interactions/{brunos['id']}/participants", json={"user_id": alice.user["id"]}))
    cancelled = _meeting(alice, "Dégustation annulée", f"{soon}T16:00:00+01:00")
    _ok(alice.patch(f"{V1}/interactions/{cancelled['id']}", json={"status": "cancelled", "version": 1}))
    deleted = _meeting(alice, "Rendez-vous supprimé", f"{soon}T17:00:00+01:00")
    anonymous = system.anonymous()
    # In the feed first (so that its deletion cannot reach sync before its creation), then gone.
    assert _eventually(lambda: deleted["id"] in anonymous.get(feed_path).text)
    assert alice.delete(f"{V1}/interactions/{deleted['id']}").status_code == 204
    expected = {before["id"], after["id"], fair["id"], team["id"], brunos["id"], cancelled["id"]}

    def settled():
        response = anonymous.get(feed_path)
        assert response.status_code == 200, response.text
        events = {str(e["uid"]).split("@")[0]: e for e in Calendar.from_ical(response.text).walk("VEVENT")}
        if set(events) != expected or "TZID=Europe/Paris" not in response.text:
            return None
        answers = {str(a.params.get("CN")): str(a.params["PARTSTAT"]) for a in _attendees(events[team["id"]])}
        done = len(answers) == 3 and "NEEDS-ACTION" in answers.values() and "ACCEPTED" in answers.values()
        done = done and "DECLINED" in answers.values() and "None" not in answers
        done = done and "status" in events[cancelled["id"]] and "attendee" in events[brunos["id"]]
        return (response, events) if done else None

    found = _eventually(settled)
    assert found, anonymous.get(feed_path).text
    response, events = found
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"

    # -- icalendar ---------------------------------------------------------------------------------
    calendar = Calendar.from_ical(response.text)
    assert str(calendar["x-wr-calname"]) == "CRM: Alice Martin"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in response.text
    assert events[before["id"]].decoded("dtstart") == datetime.fromisoformat(f"{saturday}T08:00:00+00:00")
    assert events[after["id"]].decoded("dtstart") == datetime.fromisoformat(f"{monday}T09:00:00+00:00")
    assert (events[fair["id"]].decoded("dtstart"), events[fair["id"]].decoded("dtend")) == (
        saturday,
        monday + timedelta(days=1),
    )
    assert str(events[cancelled["id"]]["status"]) == "CANCELLED"
    assert int(events[cancelled["id"]]["sequence"]) == 2
    (vtimezone,) = calendar.walk("VTIMEZONE")
    paris = vtimezone.to_tz()
    assert paris.utcoffset(datetime.combine(saturday, datetime.min.time()).replace(hour=12)) == timedelta(
        hours=2
    )
    assert paris.utcoffset(datetime.combine(monday, datetime.min.time()).replace(hour=12)) == timedelta(
        hours=1
    )

    # -- ical.js -------------------------------------------------------------------------------------
    read = _ical_js(response.text)
    assert read["name"] == "CRM: Alice Martin"
    assert (read["refresh_interval"], read["refresh_type"], read["published_ttl"]) == (
        "PT15M",
        "duration",
        "PT15M",
    )
    assert read["zones"] == ["Europe/Paris"]
    by_id = {event["uid"].split("@")[0]: event for event in read["events"]}
    assert set(by_id) == expected
    assert (by_id[before["id"]]["start"], by_id[before["id"]]["end"]) == (
        f"{saturday}T08:00:00.000Z",
        f"{saturday}T09:30:00.000Z",
    )
    assert (by_id[after["id"]]["start"], by_id[after["id"]]["end"], by_id[after["id"]]["zone"]) == (
        f"{monday}T09:00:00.000Z",
        f"{monday}T10:00:00.000Z",  # no end: an hour
        "Europe/Paris",
    )
    assert by_id[after["id"]]["location"] == "Boulangerie Dupont, 12 rue de la Paix, 75002 Paris"
    assert by_id[after["id"]]["url"].endswith(f"/interactions/{after['id']}")
    assert by_id[fair["id"]]["all_day"] is True
    assert (by_id[fair["id"]]["start"], by_id[fair["id"]]["end"]) == (
        saturday.isoformat(),
        (monday + timedelta(days=1)).isoformat(),
    )
    assert by_id[cancelled["id"]]["status"] == "CANCELLED"
    assert by_id[team["id"]]["status"] is None
    assert by_id[team["id"]]["organizer"]["cn"] == "Alice Martin"
    attendees = {a["cn"]: a["partstat"] for a in by_id[team["id"]]["attendees"]}
    assert attendees == {"Bruno Petit": "ACCEPTED", "Chloé Durand": "DECLINED", "Daniel Roux": "NEEDS-ACTION"}
    invited = by_id[brunos["id"]]
    assert invited["organizer"]["cn"] == "Bruno Petit"
    assert [(a["cn"], a["partstat"]) for a in invited["attendees"]] == [("Alice Martin", "NEEDS-ACTION")]

    # -- conditional requests ------------------------------------------------------------------------
    def unchanged():
        etag = anonymous.get(feed_path).headers["ETag"]
        again = anonymous.get(feed_path, headers={"If-None-Match": etag})
        return (etag, again) if again.status_code == 304 else None

    found = _eventually(unchanged)
    assert found, "no 304 for the current ETag"
    etag, again = found
    assert again.content == b""
    assert (again.headers["ETag"], again.headers["Cache-Control"]) == (etag, "private, max-age=300")
    assert anonymous.get(feed_path, headers={"If-None-Match": f'"stale", W/{etag}'}).status_code == 304
    assert anonymous.get(feed_path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    _ok(
        alice.patch(
            f"{V1}/interactions/{after['id']}", json={"subject": "Visite et dégustation", "version": 1}
        )
    )
    changed = _eventually(
        lambda: anonymous.get(feed_path, headers={"If-None-Match": etag}).status_code == 200
    )
    assert changed, "the feed kept its ETag after a change"

    # -- a rotated token's address is gone, and says no more than one that never was ---------------
    new_token = _ok(alice.post(f"{V1}/me/secrets/calendar_feed/rotate"))["value"]
    assert anonymous.get(f"/calendar/{new_token}.ics").status_code == 200  # at once
    gone = _gone(anonymous, feed_path)
    assert gone is not None, "the rotated token still opened the feed 5 s later"
    never = anonymous.get(f"/calendar/cal_{'x' * 32}.ics")
    assert gone.status_code == never.status_code == 404
    assert gone.headers["Content-Type"] == "application/problem+json"
    assert {k: v for k, v in gone.json().items() if k != "request_id"} == {
        k: v for k, v in never.json().items() if k != "request_id"
    }
    assert anonymous.get(f"/calendar/{new_token}.ics").status_code == 200

    # -- a deactivated user's feed closes too ------------------------------------------------------
    _ok(alice.post(f"{V1}/users/{bruno.user['id']}/deactivate"))
    assert _gone(anonymous, brunos_feed) is not None, "a deactivated user's feed still opened 5 s later"
