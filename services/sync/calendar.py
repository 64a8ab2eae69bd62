"""A user's calendar feed: their interactions as iCalendar (RFC 5545) events, for the calendar
apps that subscribe to ``GET /calendar/<token>.ics``.

Everything comes from sync's replica (the owning services' events keep it; a feed never calls
them record by record): ``feed_records`` reads it, ``calendar_text`` turns it into text with the
``icalendar`` package and is a pure function. Times are shown in the user's time zone, with the
VTIMEZONE blocks that describe it; all-day interactions are whole days (``DATE`` values, the end
excluded). The body depends on the records only (``DTSTAMP`` is the last change, not the time of
the request), so that its hash is an ETag a calendar app can send back in ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sync import records as r
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord
from services.sync.scope import chunks

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


@dataclass(frozen=True)
class FeedWindow:
    """Which interactions a feed lists: those starting from ``past_days`` ago to ``future_days``
    ahead (``sync.calendar_past_days`` and ``sync.calendar_future_days``)."""

    past_days: int = 90
    future_days: int = 365


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


@dataclass
class FeedRecords:
    """What one user's feed shows, as the replica holds it (WatermelonDB raw records)."""

    user: dict[str, Any]
    interactions: list[dict[str, Any]] = field(default_factory=list)
    # interaction id -> its participants (refused ones too: they are DECLINED attendees)
    participants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, dict[str, Any]] = field(default_factory=dict)


def looks_like_token(token: Any) -> bool:
    return isinstance(token, str) and TOKEN_SHAPE.match(token) is not None


# -- reading the replica --------------------------------------------------------------------------


def feed_records(
    session: Session, org_id: str, user_id: str, now: datetime, window: FeedWindow
) -> FeedRecords:
    """The user's interactions (owner, or participant who has not refused) starting in the
    window, with their participants, companies, people and types; deleted ones are left out."""
    person = InteractionPerson
    interaction_ids = list(
        session.scalars(
            select(person.interaction_id).where(
                person.user_id == user_id,
                person.org_id == org_id,
                person.start_at >= now - timedelta(days=window.past_days),
                person.start_at < now + timedelta(days=window.future_days),
            )
        )
    )
    interactions = _live(session, org_id, r.INTERACTIONS, interaction_ids)
    link = ReplicaLink
    participant_ids: list[str] = []
    for ids in chunks([i["id"] for i in interactions]):
        participant_ids += session.scalars(
            select(link.to_id).where(
                link.org_id == org_id,
                link.from_table == r.INTERACTIONS,
                link.from_id.in_(ids),
                link.to_table == r.PARTICIPANTS,
            )
        )
    participants: dict[str, list[dict[str, Any]]] = {}
    for participant in _live(session, org_id, r.PARTICIPANTS, participant_ids):
        participants.setdefault(participant["interaction_id"], []).append(participant)
    company_ids = {c for i in interactions for c in json.loads(i.get("company_ids") or "[]")}
    user_ids = {user_id} | {i["owner_id"] for i in interactions if i.get("owner_id")}
    user_ids |= {p["user_id"] for people in participants.values() for p in people}
    users = _by_id(_live(session, org_id, r.USERS, sorted(user_ids)))
    return FeedRecords(
        user=users.get(user_id, {"id": user_id}),
        interactions=interactions,
        participants=participants,
        users=users,
        companies=_by_id(_live(session, org_id, r.COMPANIES, sorted(company_ids))),
        types=_by_id(_live(session, org_id, r.INTERACTION_TYPES, sorted({i["type"] for i in interactions}))),
    )


def _live(session: Session, org_id: str, table: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    record = ReplicaRecord
    for some in chunks(list(ids)):
        found += (
            json.loads(raw)
            for raw in session.scalars(
                select(record.raw).where(
                    record.org_id == org_id,
                    record.table_name == table,
                    record.record_id.in_(some),
                    record.deleted.is_(False),
                )
            )
        )
    return found


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


# -- writing the calendar -------------------------------------------------------------------------


def calendar_text(records: FeedRecords, addresses: FeedAddresses) -> str:
    """The feed as iCalendar text: one VEVENT per interaction, in the user's time zone."""
    zone = user_zone(records.user.get("time_zone"))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = records.user.get("name")
    calendar.add("x-wr-calname", f"CRM: {name}" if name else "CRM")
    calendar.add("x-wr-timezone", zone_name(zone))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    spans = []
    for interaction in sorted(records.interactions, key=lambda i: (i["start_at"], i["id"])):
        event = event_of(interaction, records, zone, addresses)
        calendar.add_component(event)
        if not interaction.get("all_day"):
            spans += [event.decoded("dtstart").date(), event.decoded("dtend").date()]
    if spans and zone_name(zone) != "UTC":
        # The VTIMEZONE describes the offsets from the first event to the last, no more.
        calendar.add_missing_timezones(
            first_date=min(spans) - timedelta(days=1), last_date=max(spans) + timedelta(days=1)
        )
    return calendar.to_ical().decode()


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


# -- conditional requests -------------------------------------------------------------------------


def entity_tag(body: str) -> str:
    """A strong ETag of the feed's text."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (or is ``*``), compared weakly as RFC 9110 says
    for GET."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False
