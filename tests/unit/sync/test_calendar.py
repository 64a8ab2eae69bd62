"""A user's calendar feed: from sync's (SQLite) replica to iCalendar text, read back with icalendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session

from crm.database import create_service_engine
from crm.migrations import upgrade
from crm.settings import GatewaySettings, Settings
from services.sync import calendar, calendar_records, feed

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
def session(tmp_path: Path) -> Iterator[Session]:
    yield from calendar_replica(tmp_path)


def calendar_replica(tmp_path: Path) -> Iterator[Session]:
    """A migrated SQLite replica holding Alice (Paris), Bruno (New York) and Chloé (no zone)."""
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
    records = calendar_records.feed_records(session, POMME, user_id, now, calendar_records.FeedWindow())
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


def test_a_meeting_refused_stays_out_of_the_feed_when_its_invitation_arrives_after_the_answer(session):
    brunos = _interaction("i-brunos", "2026-10-23T08:30:00+00:00", owner_id=BRUNO)
    _apply(session, feed.apply_interaction, brunos)
    refusal = {**_participant(ALICE, "refused"), "responded_at": "2026-09-04T10:00:00+00:00"}
    _apply(session, feed.apply_participant, {"interaction": brunos, "participant": refusal}, False)
    # The invitation's own event, delivered late (events arrive in any order).
    invitation = _participant(ALICE, "invited")
    _apply(session, feed.apply_participant, {"interaction": brunos, "participant": invitation}, False)

    assert "i-brunos" not in _events(_feed(session))
    assert "i-brunos" in _events(_feed(session, BRUNO))


def test_the_same_records_give_the_same_text_whenever_it_is_asked(session):
    _apply(session, feed.apply_interaction, _interaction("i-rdv", "2026-10-20T08:30:00+00:00"))

    first = _feed(session)

    assert _feed(session, now=NOW + timedelta(hours=5)) == first


# -- written event by event ----------------------------------------------------------------------


def _whole_calendar(records: calendar_records.FeedRecords) -> str:
    """The feed as icalendar writes a whole calendar (how calendar.py wrote it before keeping
    events): every VEVENT added to one Calendar, then its missing VTIMEZONEs."""
    zone = calendar.user_zone(records.user.get("time_zone"))
    whole = calendar.calendar_head(records.user, zone)
    days = []
    for interaction in sorted(records.interactions, key=lambda i: (i["start_at"], i["id"])):
        event = calendar.event_of(interaction, records, zone, ADDRESSES)
        whole.add_component(event)
        if not interaction.get("all_day"):
            days += [event.decoded("dtstart").date(), event.decoded("dtend").date()]
    if days and calendar.zone_name(zone) != "UTC":
        whole.add_missing_timezones(min(days) - timedelta(days=1), max(days) + timedelta(days=1))
    return whole.to_ical().decode()


def _a_varied_month(session: Session) -> None:
    company = {
        "id": "c-dupont",
        "name": "Boulangerie Dupont — Fournil de la Gare, côté quai",
        "address": {"street": "12, rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
        "version": 1,
    }
    _apply(session, feed.apply_company, company, False)
    long_text = 'Apporter le catalogue; voir la vitrine, "les éclairs" et les croissants aux amandes\n' * 3
    for day in range(1, 29):
        start = datetime(2026, 10, day, 7, 30, tzinfo=UTC)
        fields = {
            "subject": f"Visite n°{day}: dégustation, «chouquettes» & 🥐 — " + "très long sujet " * (day % 4),
            "description": long_text if day % 3 == 0 else None,
            "company_ids": ["c-dupont"] if day % 2 else [],
            "status": "cancelled" if day % 7 == 0 else "planned",
            "participants": [_participant(BRUNO, "confirmed"), _participant(CHLOE, "refused")]
            if day % 5 == 0
            else [],
            "all_day": day % 6 == 0,
        }
        end = (
            (start + timedelta(days=1)).isoformat()
            if fields["all_day"]
            else (start + timedelta(hours=2)).isoformat()
        )
        _apply(
            session, feed.apply_interaction, _interaction(f"i-{day:02d}", start.isoformat(), end, **fields)
        )


@pytest.mark.parametrize("user_id", [ALICE, BRUNO, CHLOE], ids=["Paris", "New York", "UTC"])
def test_events_written_one_by_one_and_kept_make_icalendars_whole_calendar_byte_for_byte(session, user_id):
    _a_varied_month(session)
    for owner in (BRUNO, CHLOE):
        _apply(
            session,
            feed.apply_interaction,
            _interaction(f"i-{owner}", "2026-10-03T12:00:00+00:00", owner_id=owner),
        )
    records = calendar_records.feed_records(session, POMME, user_id, NOW, calendar_records.FeedWindow())
    kept: dict = {}

    first = calendar.calendar_text(records, ADDRESSES, kept)
    again = calendar.calendar_text(records, ADDRESSES, kept)

    assert first == again == calendar.calendar_text(records, ADDRESSES) == _whole_calendar(records)
    assert records.interactions
    assert all(len(line.encode()) <= 75 for line in first.split("\r\n"))


def test_an_events_key_changes_with_what_it_shows_and_only_then(session):
    _a_varied_month(session)
    paris = calendar.user_zone("Europe/Paris")

    def keys(user_zone=paris, addresses=ADDRESSES) -> dict[str, bytes]:
        records = calendar_records.feed_records(session, POMME, ALICE, NOW, calendar_records.FeedWindow())
        context = calendar.key_context(user_zone, addresses)
        return {i["id"]: calendar.event_key(i, records, context) for i in records.interactions}

    before = keys()
    assert keys() == before
    # Chloé (a participant of every fifth day) is renamed: those events only.
    _apply(session, feed.apply_user, {**_user(CHLOE, "Chloé Martin", None), "version": 2})
    renamed = keys()
    assert {i for i in before if before[i] != renamed[i]} == {"i-05", "i-10", "i-15", "i-20", "i-25"}
    # The company moves: the odd days, which show its address.
    moved = {"id": "c-dupont", "name": "Boulangerie Dupont", "address": {"city": "Lyon"}, "version": 2}
    _apply(session, feed.apply_company, moved, False)
    assert {i for i, key in keys().items() if key != renamed[i]} == {f"i-{d:02d}" for d in range(1, 29, 2)}
    other = calendar.FeedAddresses.of(GatewaySettings(public_url="https://crm.poire.fr"))
    assert set(keys(calendar.user_zone("America/New_York")).values()).isdisjoint(keys().values())
    assert set(keys(addresses=other).values()).isdisjoint(keys().values())


# -- tokens ----------------------------------------------------------------------------------------


def test_only_tokens_shaped_as_accounts_makes_them_are_looked_up():
    assert calendar.looks_like_token("cal_" + "A1b2-_" * 5 + "xy")
    assert not calendar.looks_like_token("cal_short")
    assert not calendar.looks_like_token("../../etc/passwd")
    assert not calendar.looks_like_token("ing_" + "a" * 32)
    assert not calendar.looks_like_token(None)
