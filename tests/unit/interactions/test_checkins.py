"""Geographic check-ins: a visit starts where the phone is, within the type's radius of the client,
and a check-out reports how long it lasted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.errors import AdminOnly, IdAlreadyUsed, InvalidInput, ReadOnlyUser
from services.interactions import checkins
from services.interactions.checkins import Place, visited_place
from services.interactions.exceptions import (
    CheckInAlreadyOpen,
    InteractionNotFound,
    NoOpenCheckIn,
    TooFarToCheckIn,
)
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import BOULANGERIE, JEANNE, PLACES, SIEGE

OPERA = {"latitude": 48.8719, "longitude": 2.3316, "accuracy_m": 12.5}  # 86 m from the Boulangerie
PYRAMIDE = {"latitude": 48.8611, "longitude": 2.3358, "accuracy_m": 8}  # 1279 m from it
LIVRAISON = {
    "subject": "Livraison Boulangerie Dupont Paris",
    "type": "delivery",
    "start_at": "2026-12-01T09:00:00+01:00",
}
DELIVERY_STATUSES = [
    {"key": "planned", "name": "Planned"},
    {"key": "delivered", "name": "Delivered", "closed": True},
]


class Clock:
    """The time check-ins see: 1 December 2026, 09:00 UTC, moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(checkins, "utcnow", lambda: clock.now)
    return clock


def delivery(interactions, person=BOB, **fields) -> str:
    return interactions.as_user(person).create_interaction({**LIVRAISON, **fields})["id"]


def require_radius(interactions, metres: int | None) -> dict:
    return interactions.as_user(ALICE).put_type(
        "delivery", {"name": "Delivery", "statuses": DELIVERY_STATUSES, "checkin_radius_m": metres}
    )


def test_a_check_in_records_the_distance_to_the_linked_company(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE], contact_ids=[JEANNE])

    visit = interactions.as_user(BOB).check_in(livraison, OPERA)

    assert visit["place"] == {"kind": "company", "id": BOULANGERIE, "name": "Boulangerie Dupont Paris"}
    assert (visit["distance_m"], visit["position_known"], visit["note"]) == (86, True, None)
    assert (visit["latitude"], visit["longitude"], visit["accuracy_m"]) == (48.8719, 2.3316, 12.5)
    assert (visit["user_id"], visit["checked_in_at"], visit["checked_out_at"]) == (
        BOB.user_id,
        "2026-12-01T09:00:00+00:00",
        None,
    )
    assert visit["created"] is True
    [event] = interactions.events("interaction_checked_in")
    assert event["record"]["id"] == visit["id"] and event["actor_id"] == BOB.user_id


def test_beyond_the_types_radius_the_check_in_is_refused_saying_how_far_and_nothing_is_recorded(
    interactions, clock
):
    assert require_radius(interactions, 200)["checkin_radius_m"] == 200
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    before = interactions.footprint()

    with pytest.raises(TooFarToCheckIn) as refused:
        interactions.as_user(BOB).check_in(livraison, PYRAMIDE)

    assert refused.value.detail == "1.3 km from Boulangerie Dupont Paris, allowed 200 m"
    assert isinstance(refused.value, InvalidInput)  # a 422
    assert interactions.footprint() == before
    within = interactions.as_user(BOB).check_in(livraison, OPERA)
    assert (within["distance_m"], within["radius_m"]) == (86, 200)


def test_without_any_known_position_the_check_in_is_allowed_and_says_so(interactions, clock):
    require_radius(interactions, 200)
    livraison = delivery(interactions, company_ids=[SIEGE], contact_ids=[JEANNE])

    visit = interactions.as_user(BOB).check_in(livraison, PYRAMIDE)

    assert (visit["position_known"], visit["distance_m"], visit["place"]) == (False, None, None)
    assert visit["note"] == (
        "no position is known for this interaction's companies or contacts: no distance measured; "
        "the 200 m radius was not checked"
    )
    bare = delivery(interactions)  # nothing linked at all
    assert interactions.as_user(BOB).check_in(bare, OPERA)["position_known"] is False


def test_a_contact_is_measured_from_when_no_linked_company_has_a_position(interactions, clock, monkeypatch):
    monkeypatch.setitem(PLACES, JEANNE, ("Jeanne Dupont", {"latitude": 48.8611, "longitude": 2.3358}))
    livraison = delivery(interactions, company_ids=[SIEGE], contact_ids=[JEANNE])

    visit = interactions.as_user(BOB).check_in(livraison, PYRAMIDE)

    assert visit["place"] == {"kind": "contact", "id": JEANNE, "name": "Jeanne Dupont"}
    assert visit["distance_m"] == 0


def test_the_visited_place_is_the_first_company_with_a_position_else_the_first_contact_with_one():
    paris = {"latitude": 48.8724, "longitude": 2.3325, "source": "typed"}
    lyon = {"latitude": 45.764, "longitude": 4.8357, "source": "import"}
    places = {
        "companies": {
            "c-1": {"id": "c-1", "name": "Pomme Siège Central", "position": None},
            "c-2": {"id": "c-2", "name": "Boulangerie Dupont Paris", "position": paris},
        },
        "contacts": {"p-1": {"id": "p-1", "name": "Jeanne Dupont", "position": lyon}},
    }
    assert visited_place(["c-1", "c-2"], ["p-1"], places) == Place(
        "company", "c-2", "Boulangerie Dupont Paris", 48.8724, 2.3325
    )
    assert visited_place(["c-1", "c-gone"], ["p-1"], places) == Place(
        "contact", "p-1", "Jeanne Dupont", 45.764, 4.8357
    )
    assert visited_place(["c-1"], [], places) is None
    assert visited_place([], [], {"companies": {}, "contacts": {}}) is None


def test_a_check_out_closes_the_visit_with_its_duration_and_then_a_new_visit_may_start(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    visit = interactions.as_user(BOB).check_in(livraison, OPERA)
    clock.advance(minutes=42, seconds=5)

    closed = interactions.as_user(BOB).check_out(livraison)

    assert closed["id"] == visit["id"]
    assert (closed["checked_out_at"], closed["duration_seconds"]) == ("2026-12-01T09:42:05+00:00", 2525)
    [event] = interactions.events("interaction_checked_out")
    assert event["record"]["duration_seconds"] == 2525
    clock.advance(hours=1)
    again = interactions.as_user(BOB).check_in(livraison, OPERA)
    listed = interactions.as_user(ALICE).list_check_ins(livraison)
    assert [(c["id"], c["duration_seconds"]) for c in listed] == [(visit["id"], 2525), (again["id"], None)]


def test_a_second_check_in_while_one_is_open_is_a_conflict_and_so_is_a_check_out_without_one(
    interactions, clock
):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    with pytest.raises(NoOpenCheckIn):
        interactions.as_user(BOB).check_out(livraison)
    interactions.as_user(BOB).check_in(livraison, OPERA)
    before = interactions.footprint()

    with pytest.raises(CheckInAlreadyOpen, match="check out first"):
        interactions.as_user(BOB).check_in(livraison, OPERA)

    assert interactions.footprint() == before
    # A colleague on the same delivery has a visit of their own.
    assert interactions.as_user(ALICE).check_in(livraison, OPERA)["user_id"] == ALICE.user_id
    interactions.as_user(BOB).check_out(livraison)
    with pytest.raises(NoOpenCheckIn):
        interactions.as_user(BOB).check_out(livraison)


def test_a_visit_of_an_interaction_deleted_meanwhile_is_still_checked_out(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    interactions.as_user(BOB).check_in(livraison, OPERA)
    interactions.as_user(BOB).delete_interaction(livraison)
    clock.advance(minutes=10)

    assert interactions.as_user(BOB).check_out(livraison)["duration_seconds"] == 600
    with pytest.raises(InteractionNotFound):
        interactions.as_user(BOB).check_out(livraison)  # nothing open any more: the usual 404
    with pytest.raises(InteractionNotFound):
        interactions.as_user(BOB).check_in(livraison, OPERA)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).check_out(livraison)


def test_the_same_check_in_id_again_is_a_replay_and_other_content_is_refused(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    first = interactions.as_user(BOB).check_in(livraison, {**OPERA, "id": "visite-boulangerie-1"})

    replay = interactions.as_user(BOB).check_in(livraison, {**OPERA, "id": "visite-boulangerie-1"})

    assert replay == {**first, "created": False}
    assert len(interactions.events("interaction_checked_in")) == 1
    with pytest.raises(IdAlreadyUsed):
        interactions.as_user(BOB).check_in(livraison, {**PYRAMIDE, "id": "visite-boulangerie-1"})


def test_a_read_only_user_cannot_check_in_nor_out_but_reads_the_visits(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).check_in(livraison, OPERA)
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).check_out(livraison)
    assert interactions.as_user(CLAIRE).list_check_ins(livraison) == []


def test_another_organisations_interaction_is_not_found(interactions, clock):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).check_in(livraison, OPERA)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).check_out(livraison)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).list_check_ins(livraison)
    assert interactions.count("check_ins") == 0


@pytest.mark.parametrize(
    ("position", "field"),
    [
        ({**OPERA, "latitude": 91}, "latitude"),
        ({**OPERA, "longitude": -180.5}, "longitude"),
        ({**OPERA, "latitude": "48.8719"}, "latitude"),  # a position as text
        ({**OPERA, "accuracy_m": -1}, "accuracy_m"),
        ({"latitude": 48.8719, "longitude": 2.3316}, "accuracy_m"),
    ],
)
def test_a_bad_position_is_refused_naming_the_field(interactions, clock, position, field):
    livraison = delivery(interactions, company_ids=[BOULANGERIE])
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).check_in(livraison, position)
    assert field in [error["field"] for error in refused.value.errors]
    assert interactions.count("check_ins") == 0


def test_a_types_radius_is_a_positive_whole_number_of_metres_set_by_an_admin(interactions):
    with pytest.raises(InvalidInput) as refused:
        require_radius(interactions, -1)
    assert [error["field"] for error in refused.value.errors] == ["checkin_radius_m"]
    with pytest.raises(AdminOnly):
        interactions.as_user(BOB).put_type("delivery", {"name": "Delivery", "statuses": DELIVERY_STATUSES})
    assert require_radius(interactions, None)["checkin_radius_m"] is None
    types = {row["key"]: row for row in interactions.as_user(BOB).list_types()}
    assert types["meeting"]["checkin_radius_m"] is None
