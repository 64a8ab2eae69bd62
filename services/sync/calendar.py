"""A user's calendar feed: their interactions as iCalendar (RFC 5545) events, for the calendar
apps that subscribe to ``GET /calendar/<token>.ics``.

Everything comes from sync's replica: ``calendar_records.feed_records`` reads it,
``calendar_text`` turns it into text with the ``icalendar`` package and is a pure function.
Times are shown in the user's time zone, with the VTIMEZONE blocks that describe it; all-day
interactions are whole days (``DATE`` values, the end excluded). The body depends on the records
only (``DTSTAMP`` is the last change, not the time of the request): ``calendar_state.py`` makes
its ETag from what it is made of, without writing it.

icalendar takes about a millisecond an event, so each VEVENT is written alone (``event_text``)
and the calendar is their concatenation: the same bytes as icalendar writing the whole calendar
(a calendar's text is its lines, then each component's), which lets a caller keep each event's
text under a key made of everything it shows (``event_key``) and write only what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, vCalAddress

from services.sync.calendar_records import FeedRecords

PRODID = "-//CRM back end//Calendar feed//EN"
# What accounts hands out (``cal_`` and 32 URL-safe characters), with room to change its length:
# anything else is not looked up.
TOKEN_SHAPE = re.compile(r"^cal_[A-Za-z0-9_-]{16,128}$")
# How often a calendar app should fetch the feed again (RFC 7986 and Outlook's property).
REFRESH = timedelta(minutes=15)
PARTSTAT = {"invited": "NEEDS-ACTION", "confirmed": "ACCEPTED", "refused": "DECLINED"}
CANCELLED = "cancelled"
# An interaction with no end, or an end not after its start, takes an hour (as on the agenda).
DEFAULT_LENGTH = timedelta(hours=1)
# Events written between two pauses (a worker writing a long feed lets the others run).
PAUSE_EVERY = 50


@dataclass(frozen=True)
class FeedAddresses:
    """Where the feed's events point: the host of their UIDs and the web address of a record."""

    uid_host: str
    interaction_url: Callable[[str], str]

    @classmethod
    def of(cls, gateway: Any) -> FeedAddresses:
        """From the gateway's settings (``public_url`` and the record address templates)."""
        host = urlsplit(gateway.public_address()).hostname or "crm.localhost"
        return cls(host, lambda interaction_id: gateway.record_address("interactions", interaction_id))


def looks_like_token(token: Any) -> bool:
    return isinstance(token, str) and TOKEN_SHAPE.match(token) is not None


# -- writing the calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventText:
    """One VEVENT as icalendar writes it, with what the calendar around it needs to know."""

    text: str
    # A timed event's first and last day in the user's zone (the VTIMEZONE covers them).
    days: tuple[date, date] | None
    tzids: frozenset[str]


# Interaction id -> its place in the calendar (start, id) and its event: a calendar's events.
Shown = dict[str, tuple[tuple[int, str], EventText]]


def calendar_text(
    records: FeedRecords,
    addresses: FeedAddresses,
    kept: MutableMapping[bytes, EventText] | None = None,
    pause: Callable[[], None] | None = None,
) -> str:
    """The feed as iCalendar text: one VEVENT per interaction, in the user's time zone.

    ``kept`` (event key -> its text) gives back the events written before and keeps the new
    ones; ``pause`` is called now and then while events are written (a worker lets others run)."""
    return calendar_of(records.user, shown_events(records, addresses, kept, pause), kept)


def shown_events(
    records: FeedRecords,
    addresses: FeedAddresses,
    kept: MutableMapping[bytes, EventText] | None = None,
    pause: Callable[[], None] | None = None,
) -> Shown:
    """The event of each interaction of ``records``, from ``kept`` when it holds it."""
    zone = user_zone(records.user.get("time_zone"))
    constant = key_context(zone, addresses)
    shown: Shown = {}
    written_now = 0
    for interaction in records.interactions:
        key = event_key(interaction, records, constant) if kept is not None else b""
        written = kept.get(key) if kept is not None else None
        if written is None:
            written = event_text(event_of(interaction, records, zone, addresses))
            if kept is not None:
                kept[key] = written
            written_now += 1
            if pause is not None and written_now % PAUSE_EVERY == 0:
                pause()
        shown[interaction["id"]] = ((interaction["start_at"], interaction["id"]), written)
    return shown


def calendar_of(
    user: dict[str, Any], shown: Shown, kept: MutableMapping[bytes, EventText] | None = None
) -> str:
    """The calendar of ``user`` showing those events, in their order (start, then id)."""
    zone = user_zone(user.get("time_zone"))
    events = [event for _, event in sorted(shown.values(), key=lambda placed: placed[0])]
    head = calendar_head(user, zone).to_ical().decode()
    days = [day for event in events if event.days for day in event.days]
    zones = ""
    if days and zone_name(zone) != "UTC":
        # The VTIMEZONE describes the offsets from the first event to the last, no more.
        tzids = set().union(*(event.tzids for event in events)) - {"UTC"}
        zones = timezones_text(tzids, min(days) - timedelta(days=1), max(days) + timedelta(days=1), kept)
    end = "END:VCALENDAR\r\n"
    return head.removesuffix(end) + zones + "".join(event.text for event in events) + end


def calendar_head(user: dict[str, Any], zone: tzinfo) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = user.get("name")
    calendar.add("x-wr-calname", f"CRM: {name}" if name else "CRM")
    calendar.add("x-wr-timezone", zone_name(zone))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    return calendar


def event_text(event: Event) -> EventText:
    """The event's text, its days if it is timed, and the TZIDs it names (as icalendar's
    ``Calendar.get_used_tzids`` finds them)."""
    tzids = {getattr(value, "params", {}).get("TZID") for _, value in event.property_items(sorted=False)}
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    days = (start.date(), end.date()) if isinstance(start, datetime) else None
    return EventText(event.to_ical().decode(), days, frozenset(tzids - {None}))


def key_context(zone: tzinfo, addresses: FeedAddresses) -> str:
    """What every event key of a feed shares: the user's zone and the addresses."""
    return f"{zone_name(zone)}\x1f{addresses.uid_host}\x1f{addresses.interaction_url('{id}')}"


def event_key(interaction: dict[str, Any], records: FeedRecords, constant: str) -> bytes:
    """A digest of everything ``event_of`` shows of the interaction: its record and its
    participants' (as the replica's texts), its people's names, its location, its kind, and
    ``constant`` (the user's zone and the addresses). Two interactions with the same key have
    the same text."""
    participants = sorted(records.participants.get(interaction["id"], ()), key=lambda p: p["user_id"])
    users = records.users
    owner = interaction.get("owner_id") or ""
    parts = [
        constant,
        _text(interaction, records.texts),
        f"{owner}={users.get(owner, {}).get('name')}",
        f"{location_of(interaction, records.companies)}",
        f"{records.types.get(interaction['type'], {}).get('name')}",
    ]
    for participant in participants:
        name = users.get(participant["user_id"], {}).get("name")
        parts += [_text(participant, records.texts), f"{name}"]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()


def _text(record: dict[str, Any], texts: dict[str, str]) -> str:
    text = texts.get(record["id"])
    return text if text is not None else json.dumps(record, separators=(",", ":"), sort_keys=True)


def timezones_text(
    tzids: set[str], first: date, last: date, kept: MutableMapping[bytes, EventText] | None = None
) -> str:
    """The VTIMEZONE blocks of ``tzids`` from ``first`` to ``last``, as icalendar's
    ``add_missing_timezones`` adds them (a zone it does not know is left out)."""
    texts = []
    for tzid in tzids:
        key = hashlib.blake2b(f"VTIMEZONE\x1f{tzid}\x1f{first}\x1f{last}".encode(), digest_size=16).digest()
        written = kept.get(key) if kept is not None else None
        if written is None:
            try:
                written = EventText(
                    Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical().decode(),
                    None,
                    frozenset(),
                )
            except ValueError:
                written = EventText("", None, frozenset())
            if kept is not None:
                kept[key] = written
        texts.append(written.text)
    return "".join(texts)


def event_of(
    interaction: dict[str, Any], records: FeedRecords, zone: tzinfo, addresses: FeedAddresses
) -> Event:
    interaction_id = interaction["id"]
    participants = sorted(records.participants.get(interaction_id, []), key=lambda p: p["user_id"])
    event = Event()
    event.add("uid", f"{interaction_id}@{addresses.uid_host}")
    # No METHOD on the calendar: DTSTAMP is then the last change (RFC 5545, 3.8.7.2).
    event.add("dtstamp", last_change(interaction, participants))
    if interaction.get("updated_at"):
        event.add("last-modified", moment(interaction["updated_at"]))
    event.add("sequence", int(interaction.get("version") or 0))
    if interaction.get("all_day"):
        first, after_last = all_day_dates(interaction["start_at"], interaction.get("end_at"), zone)
        event.add("dtstart", first)
        event.add("dtend", after_last)
    else:
        start, end = timed_span(interaction["start_at"], interaction.get("end_at"), zone)
        event.add("dtstart", start)
        event.add("dtend", end)
    event.add("summary", interaction["subject"])
    if interaction.get("description"):
        event.add("description", interaction["description"])
    if (location := location_of(interaction, records.companies)) is not None:
        event.add("location", location)
    event.add("url", addresses.interaction_url(interaction_id))
    kind = records.types.get(interaction["type"], {}).get("name") or interaction["type"]
    event.add("categories", [kind])
    if interaction.get("status") == CANCELLED:
        event.add("status", "CANCELLED")
    if interaction.get("owner_id"):
        event.add("organizer", person(interaction["owner_id"], records.users))
    for participant in participants:
        attendee = person(participant["user_id"], records.users)
        attendee.params["PARTSTAT"] = PARTSTAT.get(participant["status"], "NEEDS-ACTION")
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        event.add("attendee", attendee)
    return event


def user_zone(name: str | None) -> tzinfo:
    """The user's time zone; UTC when it is unknown (a user the replica had before it kept zones)."""
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


def moment(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def timed_span(start_ms: int, end_ms: int | None, zone: tzinfo) -> tuple[datetime, datetime]:
    start = moment(start_ms).astimezone(zone)
    end = moment(end_ms).astimezone(zone) if end_ms is not None else None
    return start, end if end is not None and end > start else start + DEFAULT_LENGTH


def all_day_dates(start_ms: int, end_ms: int | None, zone: tzinfo) -> tuple[date, date]:
    """The first day and the day after the last (DTEND of a DATE event excludes it).

    The interactions service keeps an all-day interaction as midnights in the offset its writer
    used, its end being the last day's midnight; the day is the one whose midnight, in the
    user's zone, is nearest: an offset that differs by an hour (a DST change between the two
    days, a writer one zone away) still gives the day that was meant."""
    first = nearest_day(start_ms, zone)
    last = nearest_day(end_ms, zone) if end_ms is not None else first
    return first, max(first, last) + timedelta(days=1)


def nearest_day(milliseconds: int, zone: tzinfo) -> date:
    return (moment(milliseconds).astimezone(zone) + timedelta(hours=12)).date()


def last_change(interaction: dict[str, Any], participants: list[dict[str, Any]]) -> datetime:
    stamps = [interaction.get("updated_at"), interaction.get("created_at")]
    stamps += [p.get("updated_at") for p in participants]
    known = [stamp for stamp in stamps if isinstance(stamp, int)]
    return moment(max(known) if known else interaction["start_at"])


def person(user_id: str, users: dict[str, dict[str, Any]]) -> vCalAddress:
    """An organiser or attendee. Not a ``mailto:`` address: a subscribed feed is read-only, and a
    calendar app that found its own user's address there would offer to reply by mail."""
    try:
        address = vCalAddress(f"urn:uuid:{UUID(user_id)}")
    except ValueError:
        address = vCalAddress(f"urn:crm:user:{user_id}")
    if name := users.get(user_id, {}).get("name"):
        address.params["CN"] = name
    return address


def location_of(interaction: dict[str, Any], companies: dict[str, dict[str, Any]]) -> str | None:
    """The first linked company still there: its name and address, one line."""
    for company_id in json.loads(interaction.get("company_ids") or "[]"):
        company = companies.get(company_id)
        if company is None:
            continue
        town = " ".join(part for part in (company.get("postal_code"), company.get("city")) if part)
        parts = (company.get("name"), company.get("street"), town, company.get("country"))
        return ", ".join(part for part in parts if part)
    return None
