"""A calendar feed's ETag read without its text, over a real (SQLite) replica: every change that
alters the text alters the ETag, one ETag never names two texts, and a change the feed does not
show keeps it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crm.settings import GatewaySettings
from services.sync import calendar, calendar_records, calendar_state, feed
from services.sync.calendar_state import (
    FeedState,
    feed_settings,
    feed_state,
    not_modified,
    org_seq,
    refreshed,
)
from tests.unit.sync.test_calendar import (
    ADDRESSES,
    ALICE,
    BRUNO,
    CHLOE,
    NOW,
    POMME,
    _apply,
    _interaction,
    _participant,
    _user,
    calendar_replica,
)

WINDOW = calendar_records.FeedWindow()
SETTINGS = feed_settings(WINDOW, ADDRESSES)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    yield from calendar_replica(tmp_path)


def _now_text_and_state(session: Session, now=NOW, user_id=ALICE) -> tuple[str, FeedState]:
    records = calendar_records.feed_records(session, POMME, user_id, now, WINDOW)
    return calendar.calendar_text(records, ADDRESSES), feed_state(
        session, POMME, user_id, now, WINDOW, SETTINGS
    )


def _invitation(interaction: dict, user_id: str, status: str, answered: str | None = None) -> dict:
    return {
        "interaction": interaction,
        "participant": {**_participant(user_id, status), "responded_at": answered},
    }


def scripted_changes(session: Session) -> list[tuple[str, Callable[[], None]]]:
    """Changes of every kind to what Alice's feed shows (and three to what it does not)."""
    rdv = _interaction("i-rdv", "2026-10-20T08:30:00+00:00")
    jeanne = {
        "id": "ct-jeanne",
        "first_name": "Jeanne",
        "last_name": "Dupont",
        "version": 1,
        "employments": [
            {"id": "e-jeanne", "contact_id": "ct-jeanne", "company_id": "c-dupont", "version": 1}
        ],
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }
    brunos = _interaction("i-brunos", "2026-10-22T08:30:00+00:00", owner_id=BRUNO)
    dupont = {"id": "c-dupont", "name": "Boulangerie Dupont", "address": {"city": "Paris"}, "version": 1}
    meeting = {"key": "meeting", "name": "Rendez-vous", "statuses": []}
    return [
        ("a meeting", lambda: _apply(session, feed.apply_interaction, rdv)),
        (
            "its subject",
            lambda: _apply(session, feed.apply_interaction, {**rdv, "subject": "Livraison", "version": 2}),
        ),
        (
            "Bruno invited",
            lambda: _apply(session, feed.apply_participant, _invitation(rdv, BRUNO, "invited"), False),
        ),
        (
            "Bruno accepts",
            lambda: _apply(
                session,
                feed.apply_participant,
                _invitation(rdv, BRUNO, "confirmed", "2026-09-04T10:00:00+00:00"),
                False,
            ),
        ),
        (
            "Bruno renamed",
            lambda: _apply(
                session, feed.apply_user, {**_user(BRUNO, "Bruno Petit-Jean", None), "version": 2}
            ),
        ),
        (
            "Alice moves to Montréal",
            lambda: _apply(
                session, feed.apply_user, {**_user(ALICE, "Alice Martin", "America/Montreal"), "version": 2}
            ),
        ),
        (
            "Alice renamed",
            lambda: _apply(
                session, feed.apply_user, {**_user(ALICE, "Alice Roux", "America/Montreal"), "version": 3}
            ),
        ),
        ("a company", lambda: _apply(session, feed.apply_company, dupont, False)),
        (
            "linked to it",
            lambda: _apply(
                session, feed.apply_interaction, {**rdv, "company_ids": ["c-dupont"], "version": 3}
            ),
        ),
        (
            "a contact working there",  # contacts are in no feed: the state holds, no window read
            lambda: _apply(session, feed.apply_contact, jeanne, False),
        ),
        (
            "the company moves",
            lambda: _apply(
                session, feed.apply_company, {**dupont, "address": {"city": "Lyon"}, "version": 2}, False
            ),
        ),
        (
            "the type renamed",
            lambda: _apply(session, feed.apply_interaction_types, [{**meeting, "name": "Visite"}], 2),
        ),
        (
            "cancelled",
            lambda: _apply(
                session,
                feed.apply_interaction,
                {**rdv, "company_ids": ["c-dupont"], "status": "cancelled", "version": 4},
            ),
        ),
        ("Bruno's own meeting", lambda: _apply(session, feed.apply_interaction, brunos)),
        (
            "Alice invited to it",
            lambda: _apply(session, feed.apply_participant, _invitation(brunos, ALICE, "invited"), False),
        ),
        (
            "Alice refuses it",
            lambda: _apply(
                session,
                feed.apply_participant,
                _invitation(brunos, ALICE, "refused", "2026-09-05T10:00:00+00:00"),
                False,
            ),
        ),
        (
            "Chloé invited to Bruno's",
            lambda: _apply(session, feed.apply_participant, _invitation(brunos, CHLOE, "invited"), False),
        ),
        (
            "Bruno leaves the meeting",
            lambda: _apply(session, feed.apply_participant, _invitation(rdv, BRUNO, "confirmed"), True),
        ),
        (
            "the meeting deleted",
            lambda: _apply(session, feed.apply_interaction_deleted, {"id": "i-rdv", "version": 5}),
        ),
    ]


def test_every_change_the_feed_shows_changes_the_etag_and_no_etag_names_two_texts(session):
    changes = scripted_changes(session)
    texts_by_tag: dict[str, str] = {}
    text, state = _now_text_and_state(session)
    texts_by_tag[state.tag] = text
    same_tag, state_kept = [], []
    for name, change in changes:
        change()
        new_text, new_state = _now_text_and_state(session)
        assert texts_by_tag.setdefault(new_state.tag, new_text) == new_text, name
        if new_text != text:
            assert new_state.tag != state.tag, f"{name}: the text changed, the ETag did not"
        elif new_state.tag == state.tag:
            same_tag.append(name)
        # The state kept without reading the feed again: only when the text is the same.
        if (kept := refreshed(session, state, POMME, ALICE, NOW, WINDOW)) is not None:
            assert (kept.tag, new_text, kept.org_seq) == (state.tag, text, org_seq(session, POMME)), name
            state_kept.append(name)
        text, state = new_text, new_state
    # What Alice's feed does not show keeps her ETag, and the state it was read with.
    kept = ["a company", "a contact working there", "Bruno's own meeting", "Chloé invited to Bruno's"]
    assert same_tag == state_kept == kept


def test_an_etag_is_the_users_own_and_that_of_the_processs_settings(session):
    _, alices = _now_text_and_state(session)
    _, chloes = _now_text_and_state(session, user_id=CHLOE)  # both empty, different names
    longer = feed_state(session, POMME, ALICE, NOW, calendar_records.FeedWindow(90, 400), SETTINGS)
    elsewhere = feed_settings(
        WINDOW, calendar.FeedAddresses.of(GatewaySettings(public_url="https://crm.poire.fr"))
    )

    assert alices.tag != chloes.tag
    assert feed_settings(calendar_records.FeedWindow(90, 400), ADDRESSES) != SETTINGS
    assert elsewhere != SETTINGS
    assert feed_state(session, POMME, ALICE, NOW, WINDOW, elsewhere).tag != alices.tag
    assert longer.tag == alices.tag  # the settings, not the window given, name the process's


def test_the_window_moving_over_an_interaction_changes_the_etag_and_ends_the_state(session):
    _apply(session, feed.apply_interaction, _interaction("i-old", "2026-07-10T08:00:00+00:00"))
    _apply(session, feed.apply_interaction, _interaction("i-mid", "2026-10-20T08:30:00+00:00"))
    _apply(session, feed.apply_interaction, _interaction("i-far", "2027-10-05T08:00:00+00:00"))
    text, state = _now_text_and_state(session)
    leaves = NOW.replace(month=7, day=10, hour=8) + timedelta(days=WINDOW.past_days)
    enters = NOW.replace(year=2027, month=10, day=5, hour=8) - timedelta(days=WINDOW.future_days)
    # i-far comes in (5 October) before i-old goes (8 October).
    assert state.valid_until == enters < leaves
    assert state.in_time(enters - timedelta(seconds=1))
    assert refreshed(session, state, POMME, ALICE, enters - timedelta(seconds=1), WINDOW) == state
    assert not state.in_time(enters)
    assert refreshed(session, state, POMME, ALICE, enters, WINDOW) is None
    assert not state.in_time(NOW - timedelta(seconds=1))  # a clock put back
    for moment, shown in (
        (enters - timedelta(seconds=1), {"i-old", "i-mid"}),
        (enters + timedelta(seconds=1), {"i-old", "i-mid", "i-far"}),
        (leaves + timedelta(seconds=1), {"i-mid", "i-far"}),
    ):
        later_text, later = _now_text_and_state(session, now=moment)
        assert {uid.split("@")[0] for uid in later_text.split("UID:")[1:]} == shown
        assert (later.tag == state.tag) == (later_text == text)


def test_a_state_is_read_again_whole_past_many_changes_and_never_for_another_organisations(
    session, monkeypatch
):
    _apply(session, feed.apply_interaction, _interaction("i-rdv", "2026-10-20T08:30:00+00:00"))
    _, state = _now_text_and_state(session)
    feed.apply_interaction(
        feed.Feed(session, "org-poire"), _interaction("i-poire", "2026-10-20T08:30:00+00:00")
    )
    session.commit()
    assert refreshed(session, state, POMME, ALICE, NOW, WINDOW) is state

    brunos = _interaction("i-brunos", "2026-10-21T08:30:00+00:00", owner_id=BRUNO)
    _apply(session, feed.apply_interaction, brunos)
    _apply(session, feed.apply_interaction, {**brunos, "subject": "Inventaire", "version": 2})
    assert refreshed(session, state, POMME, ALICE, NOW, WINDOW) is not None
    monkeypatch.setattr(calendar_state, "MAX_CHANGES", 0)
    assert refreshed(session, state, POMME, ALICE, NOW, WINDOW) is None


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
    assert not_modified(header, '"abc"') is expected
