"""Timers and time entries: one running timer per user, entries costed at the rate of the stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions import timers
from services.interactions.exceptions import (
    InteractionNotFound,
    NoRunningTimer,
    ProjectNotFound,
    TimerAlreadyRunning,
)
from services.interactions.models import Project
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import COSTS

CHANTIER = {
    "subject": "Chantier Pomme Siège Central",
    "type": "task",
    "start_at": "2026-12-01T09:00:00+01:00",
}


class Clock:
    """The time timers see: 1 December 2026, 09:00 UTC, moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timers, "utcnow", lambda: clock.now)
    return clock


def interaction(interactions, person=BOB, **fields) -> str:
    return interactions.as_user(person).create_interaction({**CHANTIER, **fields})["id"]


def test_stopping_books_an_entry_at_the_rate_of_that_moment(interactions, clock, monkeypatch):
    chantier = interaction(interactions)
    interactions.as_user(BOB).start_timer(chantier)
    monkeypatch.setitem(COSTS, BOB, {"amount": "60.00", "currency": "EUR"})  # a raise while the timer runs
    clock.advance(hours=1, minutes=30)
    entry = interactions.as_user(BOB).stop_timer()
    assert entry["seconds"] == 5400
    assert entry["rate"] == {"amount": "60.00", "currency": "EUR"}
    assert entry["cost"] == {"amount": "90.00", "currency": "EUR"}
    assert (entry["started_at"], entry["ended_at"]) == (
        "2026-12-01T09:00:00+00:00",
        "2026-12-01T10:30:00+00:00",
    )
    monkeypatch.setitem(COSTS, BOB, {"amount": "99.00", "currency": "EUR"})  # later raises change nothing
    totals = interactions.as_user(BOB).time_totals({"interaction_id": chantier})
    assert totals["costs"] == [{"amount": "90.00", "currency": "EUR"}]


def test_a_cost_is_rounded_to_the_cent(interactions, clock):
    chantier = interaction(interactions)
    interactions.as_user(BOB).start_timer(chantier)
    clock.advance(minutes=7, seconds=3)  # 423 s at 45.50 an hour: 5.34625
    assert interactions.as_user(BOB).stop_timer()["cost"] == {"amount": "5.35", "currency": "EUR"}
    assert timers.cost_of(1, Decimal("45.50")) == Decimal("0.01")


def test_a_timer_stopped_twice_is_refused_and_changes_nothing(interactions, clock):
    chantier = interaction(interactions)
    interactions.as_user(BOB).start_timer(chantier)
    clock.advance(minutes=20)
    interactions.as_user(BOB).stop_timer()
    before = interactions.footprint()
    with pytest.raises(NoRunningTimer):
        interactions.as_user(BOB).stop_timer()
    assert interactions.footprint() == before
    assert interactions.count("time_entries") == 1


def test_stopping_with_no_timer_running_is_refused(interactions):
    with pytest.raises(NoRunningTimer):
        interactions.as_user(ALICE).stop_timer()
    assert interactions.count("time_entries") == 0


def test_a_second_timer_is_refused(interactions, clock):
    chantier = interaction(interactions)
    appel = interaction(interactions, subject="Appel Jeanne Dupont", type="call")
    interactions.as_user(BOB).start_timer(chantier)
    with pytest.raises(TimerAlreadyRunning) as refused:
        interactions.as_user(BOB).start_timer(appel)
    assert chantier in refused.value.detail
    assert refused.value.errors == [{"field": "interaction_id", "message": f"running on {chantier}"}]
    with pytest.raises(TimerAlreadyRunning):
        interactions.as_user(BOB).start_timer(chantier)
    running = interactions.as_user(BOB).get_timer()["timer"]
    assert (running["interaction_id"], running["started_at"]) == (chantier, "2026-12-01T09:00:00+00:00")


def test_each_user_has_a_timer_of_their_own(interactions, clock):
    chantier = interaction(interactions)
    interactions.as_user(BOB).start_timer(chantier)
    interactions.as_user(ALICE).start_timer(chantier)
    clock.advance(minutes=45)
    assert interactions.as_user(ALICE).get_timer()["timer"]["seconds"] == 2700
    assert interactions.as_user(ALICE).stop_timer()["user_id"] == ALICE.user_id
    assert interactions.as_user(ALICE).get_timer() == {"timer": None}
    assert interactions.as_user(BOB).get_timer()["timer"]["interaction_id"] == chantier


def test_a_user_without_an_hourly_cost_books_time_without_a_cost(interactions, clock):
    poire = interactions.as_user(DIANE).create_interaction({**CHANTIER, "subject": "Inventaire Poire"})["id"]
    interactions.as_user(DIANE).start_timer(poire)
    clock.advance(hours=2)
    entry = interactions.as_user(DIANE).stop_timer()
    assert (entry["seconds"], entry["rate"], entry["cost"]) == (7200, None, None)
    totals = interactions.as_user(DIANE).time_totals({"user_id": DIANE.user_id})
    assert (totals["seconds"], totals["unpriced_seconds"], totals["costs"]) == (7200, 7200, [])


def test_totals_add_seconds_and_costs_per_currency_by_interaction_project_and_user(
    interactions, clock, monkeypatch
):
    with interactions.db.transaction() as uow:
        uow.session.add(
            Project(
                id="projet-renovation",
                org_id=ALICE.org_id,
                name="Rénovation du siège",
                created_by=ALICE.user_id,
                created_at=clock.now,
                updated_at=clock.now,
            )
        )
    chantier = interaction(interactions, project_id="projet-renovation")
    appel = interaction(interactions, subject="Appel fournisseur", type="call")
    for person, where, minutes in ((BOB, chantier, 60), (ALICE, chantier, 30), (BOB, appel, 15)):
        interactions.as_user(person).start_timer(where)
        clock.advance(minutes=minutes)
        interactions.as_user(person).stop_timer()
    monkeypatch.setitem(COSTS, ALICE, {"amount": "100.00", "currency": "CHF"})
    interactions.as_user(ALICE).start_timer(chantier)
    clock.advance(minutes=6)
    interactions.as_user(ALICE).stop_timer()

    by_interaction = interactions.as_user(CLAIRE).time_totals({"interaction_id": chantier})
    assert (by_interaction["entries"], by_interaction["seconds"]) == (3, 5760)
    assert by_interaction["costs"] == [
        {"amount": "10.00", "currency": "CHF"},
        {"amount": "85.50", "currency": "EUR"},  # 45.50 + 40.00
    ]
    by_project = interactions.as_user(BOB).time_totals({"project_id": "projet-renovation"})
    assert (by_project["seconds"], by_project["costs"]) == (5760, by_interaction["costs"])
    by_user = interactions.as_user(BOB).time_totals({"user_id": BOB.user_id})
    assert (by_user["seconds"], by_user["costs"]) == (4500, [{"amount": "56.88", "currency": "EUR"}])


def test_totals_take_exactly_one_filter_and_hide_other_orgs(interactions, clock):
    chantier = interaction(interactions)
    for query in ({}, {"interaction_id": chantier, "user_id": BOB.user_id}):
        with pytest.raises(InvalidInput, match="exactly one"):
            interactions.as_user(BOB).time_totals(query)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).time_totals({"interaction_id": chantier})
    with pytest.raises(ProjectNotFound):
        interactions.as_user(BOB).time_totals({"project_id": "projet-inconnu"})


def test_a_timer_needs_a_writer_and_an_interaction_of_the_org(interactions):
    chantier = interaction(interactions)
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).start_timer(chantier)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).start_timer(chantier)
    assert interactions.count("running_timers") == 0
