"""A calendar feed's ETag without its body: made of what the body is made of, read with two
queries, so that a calendar app asking again with ``If-None-Match`` gets its 304
without the feed being written (calendar.py takes about a millisecond an event to write).

A feed's text is a function of: the user (name and time zone), the interactions the user's
``interaction_people`` rows start in the window, their participants and companies, the names of
the organisation's users and interaction types, and this process's settings (the window, the
addresses, the versions of icalendar and of the time zone data). The feed gives every record it
changes the next change sequence, greater than any before (feed.py). Hence:

- a record the feed shows that changed has a ``seq`` greater than the greatest one seen before;
- an interaction that joins or leaves without changing (the user refused it, the window moved)
  changes the list of the window's interactions;

so the ETag hashes each interaction of the window with its start and its record's ``seq``, and
the ids and ``seq`` of its participants' and companies' records; the count, greatest and sum of
the ``seq`` of the organisation's users and interaction types; the user's id and the settings.
Deleted records keep their rows (a deletion takes a ``seq`` too). The queries stay fast on tables
never analysed (calendar_records.replica_lookup says how).

``FeedState`` is such an ETag with the organisation's greatest ``seq`` when it was read, the
count of the window's interactions and the moment the window next takes in or lets go of one.
While the organisation changes nothing, one index lookup says the ETag holds; when it changed,
``refreshed`` looks at what changed since (a few rows) rather than at the whole feed. The process
that wrote the feed keeps the ETag's lines (``Lines``, one an interaction): when the feed did
change, ``Patch.lines`` reads again only those of the interactions the change touched, and the
ETag is the one ``feed_state`` reads whole (the same lines, hashed the same way).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import icalendar
from sqlalchemy import String, case, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from services.sync import records as r
from services.sync.calendar import FeedAddresses
from services.sync.calendar_records import SEPARATOR, FeedWindow, linked, replica_lookup, window_people
from services.sync.models import InteractionPerson, ReplicaLink, ReplicaRecord
from services.sync.scope import chunks

# Changed whenever calendar.py writes the same records differently: every ETag changes with it.
TEXT_FORMAT = "2"
# Labels of feed_state's rows beside the tables'.
ORG, NEXT = "~organisation", "~next"
# Past this many changes in the organisation since a state was read, it is read again whole.
MAX_CHANGES = 1_000
# The replica's tables a feed shows records of (with ORG_WIDE_TABLES): a change to any other
# (a contact, a note, a document) leaves every feed as it was.
FEED_TABLES = frozenset({r.INTERACTIONS, r.PARTICIPANTS, r.COMPANIES})


@dataclass(frozen=True)
class FeedState:
    """A feed's ETag, read at ``read_at`` when the organisation's greatest ``seq`` was
    ``org_seq`` and the window held ``people`` interactions; the window takes in or lets go of
    one at ``valid_until`` (None: never, as things are)."""

    tag: str
    org_seq: int
    people: int
    read_at: datetime
    valid_until: datetime | None

    def in_time(self, now: datetime) -> bool:
        # A clock put back (sync.clock_offset_file) is another window too.
        return self.read_at <= now and (self.valid_until is None or now < self.valid_until)


def org_seq(session: Session, org_id: str) -> int:
    """The sequence of the organisation's last change in the replica (one index lookup)."""
    record = ReplicaRecord
    return session.scalar(select(func.max(record.seq)).where(record.org_id == org_id)) or 0


def refreshed(
    session: Session, state: FeedState, org_id: str, user_id: str, now: datetime, window: FeedWindow
) -> FeedState | None:
    """``state`` if it still holds now (with the organisation's present ``seq``), or None when
    the feed may have changed: read it again with ``feed_state``.

    Nothing the organisation changed since ``state.org_seq`` is in the feed now (no changed
    interaction of the window, no changed participant or company of one of them, no user or
    interaction type changed) and the window holds as many interactions as then: then the feed
    is the same. An interaction that came in changed itself or its participant record (the feed
    changes ``interaction_people`` only with them), so it is seen; one that left without coming
    back changed the count. A few index lookups and ranges, however large the feed."""
    if not state.in_time(now):
        return None
    found = _changes(session, org_id, state.org_seq)
    if found is None:
        return None
    seq, changed = found
    if not changed:
        return state
    if not any(table in FEED_TABLES for table, _ in changed):
        return replace(state, org_seq=seq)  # contacts, notes, documents: not in a feed
    people, touched = _window_count(session, org_id, user_id, now, window, _touched(session, org_id, changed))
    if people != state.people or touched:
        return None
    return replace(state, org_seq=seq)


def _window_count(
    session: Session, org_id: str, user_id: str, now: datetime, window: FeedWindow, among: set[str]
) -> tuple[int, int]:
    """How many interactions the window holds, and how many of them are ``among`` these, counted
    by the database: fetching the window's every id cost most of a 304's time after a change
    elsewhere in the organisation (thousands of ids, for a count and a few lookups)."""
    person = InteractionPerson
    hit = person.interaction_id.in_(sorted(among)) if among else literal(False)
    query = window_people(org_id, user_id, now, window).with_only_columns(
        func.count(), func.coalesce(func.sum(case((hit, 1), else_=0)), 0)
    )
    people, touched = session.execute(query).one()
    return people, touched


def _changes(
    session: Session, org_id: str, since: int, upto: int | None = None
) -> tuple[int, list[tuple[str, str]]] | None:
    """The greatest ``seq`` read (``since`` when nothing changed) and ``(table, record id)`` of
    what the organisation changed after ``since`` (up to ``upto`` if given), in one statement; or
    None when that is too much, or a user or an interaction type changed (their names are in
    every feed)."""
    record = ReplicaRecord
    query = select(record.table_name, record.record_id, record.seq).where(
        record.org_id == org_id, record.seq > since
    )
    if upto is not None:
        query = query.where(record.seq <= upto)
    rows = session.execute(query.limit(MAX_CHANGES + 1)).all()
    if len(rows) > MAX_CHANGES or any(table in r.ORG_WIDE_TABLES for table, _, _ in rows):
        return None
    seq = max((seq for _, _, seq in rows), default=since)
    return seq, [(table, record_id) for table, record_id, _ in rows]


def _touched(session: Session, org_id: str, changed: list[tuple[str, str]]) -> set[str]:
    """The interactions among ``changed``, and those whose participant or company is."""
    link = ReplicaLink
    touched = {record_id for table, record_id in changed if table == r.INTERACTIONS}
    for table in (r.PARTICIPANTS, r.COMPANIES):
        for some in chunks(sorted(record_id for t, record_id in changed if t == table)):
            # Not narrowed to links from interactions in SQL: with that, the links' primary key
            # (organisation, from table) looked as good as ix_replica_links_to to a planner
            # without statistics, for the organisation's every link.
            found = session.execute(
                select(link.from_table, link.from_id).where(
                    link.org_id == org_id, link.to_table == table, link.to_id.in_(some)
                )
            )
            touched.update(from_id for from_table, from_id in found if from_table == r.INTERACTIONS)
    return touched


def _in_window(session: Session, org_id: str, user_id: str, now: datetime, window: FeedWindow) -> set[str]:
    query = window_people(org_id, user_id, now, window).with_only_columns(InteractionPerson.interaction_id)
    # Plain rows (the connection's), not the ORM's: a third of the time, for thousands of ids.
    return set(session.connection().scalars(query))


# An interaction of the window as its feed's ETag sees it: its start, and its line in the hash.
Lines = dict[str, tuple[datetime, str]]


def feed_state(
    session: Session, org_id: str, user_id: str, now: datetime, window: FeedWindow, settings: str
) -> FeedState:
    """The user's feed's ETag now, in two statements; ``session`` should read one snapshot (the
    body read with it is then the one the ETag names)."""
    lines = window_lines(session, org_id, user_id, now, window)
    return state_of(session, lines, org_id, user_id, now, window, settings)


def window_lines(
    session: Session,
    org_id: str,
    user_id: str,
    now: datetime,
    window: FeedWindow,
    only: Collection[str] | None = None,
) -> Lines:
    """Each interaction of the window (of ``only`` if given) with its start and its line: its
    record's ``seq`` and its participants' and companies' (correlated lookups by primary key:
    ``calendar_records.replica_lookup``), the rest with index ranges."""
    person, record = InteractionPerson, ReplicaRecord
    interaction_id, seq_text = person.interaction_id, func.coalesce(cast(record.seq, String), "-")
    query = window_people(org_id, user_id, now, window).with_only_columns(
        interaction_id,
        person.start_at,
        replica_lookup(org_id, r.INTERACTIONS, interaction_id, record.seq),
        linked(
            org_id,
            interaction_id,
            (r.PARTICIPANTS, r.COMPANIES),
            lambda link: (
                link.to_table
                + " "
                + link.to_id
                + " "
                + replica_lookup(org_id, link.to_table, link.to_id, seq_text)
            ),
        ),
    )
    some = [query] if only is None else [query.where(interaction_id.in_(ids)) for ids in chunks(sorted(only))]
    return {
        i: (start, f"{i} {_plain(start)} {seq} {' '.join(sorted((others or '').split(SEPARATOR)))}")
        for part in some
        for i, start, seq, others in session.execute(part)
    }


def state_of(
    session: Session,
    lines: Lines,
    org_id: str,
    user_id: str,
    now: datetime,
    window: FeedWindow,
    settings: str,
) -> FeedState:
    """The ETag of a feed made of ``lines`` (every interaction of the window), with the
    organisation's users and interaction types read in one statement."""
    person, record = InteractionPerson, ReplicaRecord
    until = now + timedelta(days=window.future_days)
    no_start = cast(null(), person.start_at.type)
    of_org = (
        select(record.table_name, func.count(), func.max(record.seq), func.sum(record.seq), no_start)
        .where(record.org_id == org_id, record.table_name.in_(r.ORG_WIDE_TABLES))
        .group_by(record.table_name)
    )
    # What the organisation last changed, and the next interaction the window will take in.
    last = select(literal(ORG), literal(0), func.max(record.seq), null(), no_start)
    last = last.where(record.org_id == org_id)
    coming = select(literal(NEXT), literal(0), null(), null(), func.min(person.start_at)).where(
        person.user_id == user_id, person.org_id == org_id, person.start_at >= until
    )
    org = {row[0]: row for row in session.execute(union_all(of_org, last, coming))}
    made_of = sorted(line for _, line in lines.values())
    made_of += [",".join(_plain(v) for v in org[name][:4]) for name in sorted(org) if name not in (ORG, NEXT)]
    digest = hashlib.sha256("\x1f".join([settings, user_id, *made_of]).encode())
    first, next_start = min((start for start, _ in lines.values()), default=None), org[NEXT][4]
    edges = [first + timedelta(days=window.past_days)] if first is not None else []
    edges += [next_start - timedelta(days=window.future_days)] if next_start is not None else []
    tag = '"' + digest.hexdigest()[:32] + '"'
    return FeedState(tag, org[ORG][2] or 0, len(lines), now, min(edges) if edges else None)


def _plain(value: object) -> str:
    """Alike on SQLite and PostgreSQL (whose sums are decimals)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def feed_settings(window: FeedWindow, addresses: FeedAddresses) -> str:
    """What, beside the records, the text depends on in this process."""
    return "\x1f".join(
        [
            TEXT_FORMAT,
            str(window.past_days),
            str(window.future_days),
            addresses.uid_host,
            addresses.interaction_url("{id}"),
            icalendar.__version__,
            zone_data_version(),
        ]
    )


@cache
def zone_data_version() -> str:
    """The time zone data's release (VTIMEZONE blocks are written from it): the system's, which
    zoneinfo reads first, else the ``tzdata`` package's."""
    for folder in zoneinfo.TZPATH:
        try:
            with open(Path(folder) / "tzdata.zi") as data:
                first = data.readline()
        except OSError:
            continue
        return first.removeprefix("# version").strip()
    try:
        return importlib.metadata.version("tzdata")
    except importlib.metadata.PackageNotFoundError:
        return ""


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


@dataclass(frozen=True)
class Patch:
    """What a feed written when the organisation was at one ``seq`` lacks to be the feed at a
    later one: interactions to read again (changed, or new to the window) and those to leave out."""

    read: frozenset[str]
    removed: frozenset[str]
    window: frozenset[str]  # the window's interactions now

    def lines(
        self, session: Session, before: Lines, org_id: str, user_id: str, now: datetime, w: FeedWindow
    ) -> Lines:
        """The ETag's lines now, from those of the feed written at the earlier ``seq``: the
        window's that did not change are kept, the rest read again (``window_lines``)."""
        kept = {i: line for i, line in before.items() if i in self.window and i not in self.read}
        return {**kept, **window_lines(session, org_id, user_id, now, w, self.read)}


def patch_since(
    session: Session,
    org_id: str,
    user_id: str,
    now: datetime,
    window: FeedWindow,
    seqs: tuple[int, int],
    shown: Collection[str],
) -> Patch | None:
    """How the feed that showed the interactions ``shown`` when the organisation was at
    ``seqs[0]`` differs from the feed at ``seqs[1]`` (this session's snapshot); None when too
    much changed, or a user or an interaction type did (their names are everywhere): write it
    whole. The interactions to read again are those of the window now that changed, whose
    participant or company changed, or that the feed did not show (new to the window, or not
    live then); those it showed that the window no longer holds are left out."""
    found = _changes(session, org_id, *seqs)
    if found is None:
        return None
    changed = found[1]
    in_window = _in_window(session, org_id, user_id, now, window)
    read = (_touched(session, org_id, changed) & in_window) | (in_window - set(shown))
    if len(read) > MAX_CHANGES:
        return None
    return Patch(frozenset(read), frozenset(set(shown) - in_window), frozenset(in_window))
