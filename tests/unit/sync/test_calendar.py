"""A user's calendar feed: from sync's (SQLite) replica to iCalendar text, read back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session

from crm.database import create_service_engine
from crm.migrations import upgrade
from crm.settings import GatewaySettings, Settings
from services.sync import calendar, feed

POMME = "org-pomme"
ALICE, BRUNO, CHLOE = (
    "0192f5a0-0000-7000-8000-00000000a11c",
    "0192f5a0-0000-7000-8000-0000000b2b00",
    "0192f5a0-0000-7000-8000-0000000c1e00",
)
NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
ADDRESSES = calendar.FeedAddresses.of(GatewaySettings(public_url="https://crm.pomme.fr"))


@pytest.fixture
def session(tmp_path: Path):
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/{{service}}.db"}}
    )
    upgrade(settings, "sync")
    engine = create_service_engine(settings, "sync")
    with Session(engine) as session:
        for user_id, name, zone in (
            (ALICE, "Alice Martin", "Europe/Paris"),
            (BRUNO, "Bruno Petit", "America/New_York"),
            (CHLOE, "Chloé Durand", None),
        ):
            _apply(session, feed.apply_user, _user(user_id, name, zone))
        yield session
    engine.dispose()


def _user(user_id: str, name: str, time_zone: str | None) -> dict:
    return {"id": user_id, "name": name, "time_zone": time_zone, "version": 1, "created_at": NOW.isoformat()}


def _interaction(interaction_id: str, start: str, end: str | None = None, **fields) -> dict:
    return {
        "id": interaction_id,
        "subject": "Visite Boulangerie Dupont",
        "type": "meeting",
        "status": "planned",
        "start_at": start,
        "end_at": end,
        "all_day": False,
        "owner_id": ALICE,
        "description": None,
        "contact_ids": [],
        "company_ids": [],
        "participants": [],
        "version": 1,
        "created_at": "2026-09-01T08:00:00+00:00",
        "updated_at": "2026-09-02T08:00:00+00:00",
        **fields,
    }


def _participant(user_id: str, status: str) -> dict:
    return {"user_id": user_id, "status": status, "invited_at": "2026-09-03T10:00:00+00:00"}


def _apply(session: Session, apply, *args) -> None:
    apply(feed.Feed(session, POMME), *args)
    session.commit()


def _feed(session: Session, user_id: str = ALICE, now: datetime = NOW) -> str:
    records = calendar.feed_records(session, POMME, user_id, now, calendar.FeedWindow())
    return calendar.calendar_text(records, ADDRESSES)


def _events(text: str) -> dict[str, object]:
    """UID (without the host) -> VEVENT, as icalendar reads the text back."""
    parsed = Calendar.from_ical(text)
    return {str(event["uid"]).split("@")[0]: event for event in parsed.walk("VEVENT")}


# -- times ---------------------------------------------------------------------------------------


def test_a_meeting_is_written_in_its_users_time_zone_with_the_vtimezone_that_describes_it(session):
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-rdv", "2026-10-20T08:30:00+00:00", "2026-10-20T10:00:00+00:00"),
    )
    _apply(session, feed.apply_interaction, _interaction("i-after", "2026-10-27T09:00:00+00:00"))

    text = _feed(session)

    assert "DTSTART;TZID=Europe/Paris:20261020T103000" in text
    assert "DTEND;TZID=Europe/Paris:20261020T120000" in text
    # After the change to winter time, 09:00 UTC is 10:00 in Paris; no end: an hour.
    assert "DTSTART;TZID=Europe/Paris:20261027T100000" in text
    assert "DTEND;TZID=Europe/Paris:20261027T110000" in text
    parsed = Calendar.from_ical(text)
    (zone,) = parsed.walk("VTIMEZONE")
    described = zone.to_tz()
    assert described.utcoffset(datetime(2026, 10, 20, 12, 0)) == timedelta(hours=2)
    assert described.utcoffset(datetime(2026, 10, 27, 12, 0)) == timedelta(hours=1)
    assert _events(text)["i-rdv"].decoded("dtstart") == datetime(2026, 10, 20, 8, 30, tzinfo=UTC)
    assert parsed["x-wr-timezone"] == "Europe/Paris"


def test_a_paris_all_day_event_across_the_dst_change_keeps_its_days(session):
    # As the interactions service keeps it: midnights in the offsets the writer used, the end
    # being the last day's midnight (Saturday 24 to Monday 26 October 2026; DST ends on the 25th).
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-salon", "2026-10-24T00:00:00+02:00", "2026-10-26T00:00:00+01:00", all_day=True),
    )
    # The same days written with summer time's offset at both ends: Monday's midnight is then
    # 23:00 on Sunday in Paris; still Monday.
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-inventaire", "2026-10-24T00:00:00+02:00", "2026-10-26T00:00:00+02:00", all_day=True),
    )
    _apply(session, feed.apply_interaction, _interaction("i-jour", "2026-10-25T00:00:00+02:00", all_day=True))

    text = _feed(session)
    events = _events(text)

    for interaction_id in ("i-salon", "i-inventaire"):
        event = events[interaction_id]
        assert event.decoded("dtstart") == date(2026, 10, 24)
        assert event.decoded("dtend") == date(2026, 10, 27)  # excluded: the 26th is the last day
    assert (events["i-jour"].decoded("dtstart"), events["i-jour"].decoded("dtend")) == (
        date(2026, 10, 25),
        date(2026, 10, 26),
    )
    assert "DTSTART;VALUE=DATE:20261024" in text
    assert "VTIMEZONE" not in text  # dates need no zone


def test_an_all_day_event_written_in_paris_keeps_its_days_in_new_york(session):
    _apply(
        session,
        feed.apply_interaction,
        _interaction(
            "i-salon", "2026-10-24T00:00:00+02:00", "2026-10-26T00:00:00+01:00", all_day=True, owner_id=BRUNO
        ),
    )

    event = _events(_feed(session, BRUNO))["i-salon"]

    assert (event.decoded("dtstart"), event.decoded("dtend")) == (date(2026, 10, 24), date(2026, 10, 27))


def test_a_user_without_a_known_time_zone_gets_utc_times_and_no_vtimezone(session):
    _apply(
        session, feed.apply_interaction, _interaction("i-appel", "2026-10-20T08:30:00+02:00", owner_id=CHLOE)
    )

    text = _feed(session, CHLOE)

    assert "DTSTART:20261020T063000Z" in text
    assert "DTEND:20261020T073000Z" in text
    assert "VTIMEZONE" not in text


# -- what an event says ----------------------------------------------------------------------------


def test_an_event_says_what_where_who_and_which_revision(session):
    company = {
        "id": "c-dupont",
        "name": "Boulangerie Dupont",
        "address": {"street": "12, rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
        "version": 1,
    }
    _apply(session, feed.apply_company, company, False)
    _apply(
        session,
        feed.apply_interaction,
        _interaction(
            "i-rdv",
            "2026-10-20T08:30:00+00:00",
            description="Apporter le catalogue; voir la vitrine",
            company_ids=["c-dupont"],
            version=4,
            participants=[
                _participant(BRUNO, "confirmed"),
                _participant(CHLOE, "refused"),
            ],
        ),
    )
    _apply(
        session,
        feed.apply_participant,
        {
            "interaction": {"id": "i-rdv", "owner_id": ALICE, "start_at": "2026-10-20T08:30:00+00:00"},
            "participant": {
                "user_id": "0192f5a0-0000-7000-8000-0000000d0d00",
                "status": "invited",
                "invited_at": "2026-09-05T10:00:00+00:00",
            },
        },
        False,
    )

    event = _events(_feed(session))["i-rdv"]

    assert str(event["uid"]) == "i-rdv@crm.pomme.fr"
    assert event["sequence"] == 4
    assert str(event["summary"]) == "Visite Boulangerie Dupont"
    assert str(event["description"]) == "Apporter le catalogue; voir la vitrine"
    assert str(event["location"]) == "Boulangerie Dupont, 12, rue de la Paix, 75002 Paris, FR"
    assert str(event["url"]) == "https://crm.pomme.fr/interactions/i-rdv"
    # The last change: the latest invitation, after the interaction's own update.
    assert event.decoded("dtstamp") == datetime(2026, 9, 5, 10, 0, tzinfo=UTC)
    assert event.decoded("last-modified") == datetime(2026, 9, 2, 8, 0, tzinfo=UTC)
    assert "STATUS" not in event
    organizer = event["organizer"]
    assert (str(organizer), organizer.params["CN"]) == (f"urn:uuid:{ALICE}", "Alice Martin")
    attendees = {str(a): (a.params.get("CN"), a.params["PARTSTAT"]) for a in event["attendee"]}
    assert attendees == {
        f"urn:uuid:{BRUNO}": ("Bruno Petit", "ACCEPTED"),
        f"urn:uuid:{CHLOE}": ("Chloé Durand", "DECLINED"),
        "urn:uuid:0192f5a0-0000-7000-8000-0000000d0d00": (None, "NEEDS-ACTION"),
    }


def test_a_cancelled_interaction_is_a_cancelled_event(session):
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-annule", "2026-10-20T08:30:00+00:00", status="cancelled"),
    )

    assert _events(_feed(session))["i-annule"]["status"] == "CANCELLED"


def test_the_calendar_names_its_user_and_asks_to_be_fetched_every_quarter_hour(session):
    text = _feed(session)
    parsed = Calendar.from_ical(text)

    assert parsed["x-wr-calname"] == "CRM: Alice Martin"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in text
    assert "X-PUBLISHED-TTL:PT15M" in text
    assert parsed["version"] == "2.0"


# -- which interactions --------------------------------------------------------------------------


def test_the_feed_lists_the_users_interactions_in_its_window_and_nothing_else(session):
    _apply(session, feed.apply_interaction, _interaction("i-mine", "2026-10-20T08:30:00+00:00"))
    invited = [_participant(ALICE, "invited")]
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-invited", "2026-10-21T08:30:00+00:00", owner_id=BRUNO, participants=invited),
    )
    refused = [_participant(ALICE, "refused")]
    _apply(
        session,
        feed.apply_interaction,
        _interaction("i-refused", "2026-10-22T08:30:00+00:00", owner_id=BRUNO, participants=refused),
    )
    _apply(
        session, feed.apply_interaction, _interaction("i-brunos", "2026-10-23T08:30:00+00:00", owner_id=BRUNO)
    )
    _apply(session, feed.apply_interaction, _interaction("i-old", "2026-06-01T08:30:00+00:00"))
    _apply(session, feed.apply_interaction, _interaction("i-next-year", "2027-09-30T08:30:00+00:00"))
    _apply(session, feed.apply_interaction, _interaction("i-too-far", "2027-10-02T08:30:00+00:00"))
    _apply(session, feed.apply_interaction, _interaction("i-deleted", "2026-10-24T08:30:00+00:00"))
    _apply(session, lambda changes: changes.mark_deleted("interactions", "i-deleted"))

    assert set(_events(_feed(session))) == {"i-mine", "i-invited", "i-next-year"}
    assert set(_events(_feed(session, BRUNO))) == {"i-invited", "i-refused", "i-brunos"}


def test_the_same_records_give_the_same_text_whenever_it_is_asked(session):
    _apply(session, feed.apply_interaction, _interaction("i-rdv", "2026-10-20T08:30:00+00:00"))

    first = _feed(session)

    assert _feed(session, now=NOW + timedelta(hours=5)) == first
    assert calendar.entity_tag(_feed(session)) == calendar.entity_tag(first)


# -- conditional requests and tokens ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"old", "abc"', True),
        ("*", True),
        ('"old"', False),
    ],
)
def test_if_none_match_names_the_current_tag_or_any(header, expected):
    assert calendar.not_modified(header, '"abc"') is expected


def test_only_tokens_shaped_as_accounts_makes_them_are_looked_up():
    assert calendar.looks_like_token("cal_" + "A1b2-_" * 5 + "xy")
    assert not calendar.looks_like_token("cal_short")
    assert not calendar.looks_like_token("../../etc/passwd")
    assert not calendar.looks_like_token("ing_" + "a" * 32)
    assert not calendar.looks_like_token(None)
