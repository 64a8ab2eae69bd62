"""Resources, their bookings by interactions, and their planning, through single workers."""

from __future__ import annotations

from datetime import datetime

import eventlet
import pytest

from crm.errors import AdminOnly, InvalidInput, ReadOnlyUser
from services.gateway.problems import problem_from_exception
from services.interactions import resources
from services.interactions.exceptions import (
    DoubleBooking,
    IdAlreadyUsed,
    InteractionNotFound,
    ResourceNotFound,
)
from services.interactions.interactions import interaction_of
from tests.people import ALICE, BOB, CLAIRE, DIANE, POIRE, POMME

CHAMBORD = {"name": "Salle Chambord", "kind": "room", "description": "12 places, vidéoprojecteur"}
KANGOO = {"name": "Kangoo 2", "kind": "vehicle"}
CHAMBRE = {"name": "Chambre 404", "kind": "hotel_room"}


def resource(interactions, fields=CHAMBORD, person=ALICE) -> dict:
    return interactions.as_user(person).create_resource(dict(fields))


def meeting(interactions, start: str, end: str | None, person=ALICE, **fields) -> dict:
    data = {"subject": "Réunion chantier", "type": "meeting", "start_at": start, "end_at": end, **fields}
    return interactions.as_user(person).create_interaction(data)


def book(interactions, interaction: dict, room: dict, person=BOB) -> dict:
    return interactions.as_user(person).book_resource(interaction["id"], room["id"])


# -- resources ------------------------------------------------------------------------------


def test_an_admin_creates_resources_and_members_see_them_by_name(interactions):
    chambord = resource(interactions)
    resource(interactions, KANGOO)
    resource(interactions, CHAMBRE)
    assert (chambord["kind"], chambord["active"], chambord["created"]) == ("room", True, True)
    page = interactions.as_user(BOB).list_resources({})
    assert [item["name"] for item in page["items"]] == ["Chambre 404", "Kangoo 2", "Salle Chambord"]
    assert interactions.as_user(BOB).get_resource(chambord["id"])["description"] == CHAMBORD["description"]


def test_resources_are_paged_by_name_and_filtered_by_kind(interactions):
    for fields in (CHAMBORD, KANGOO, CHAMBRE):
        resource(interactions, fields)
    first = interactions.as_user(BOB).list_resources({"limit": 2})
    second = interactions.as_user(BOB).list_resources({"limit": 2, "cursor": first["next_cursor"]})
    assert [item["name"] for item in first["items"] + second["items"]] == [
        "Chambre 404",
        "Kangoo 2",
        "Salle Chambord",
    ]
    assert second["next_cursor"] is None
    vehicles = interactions.as_user(BOB).list_resources({"kind": "vehicle"})
    assert [item["name"] for item in vehicles["items"]] == ["Kangoo 2"]


def test_a_member_cannot_create_or_change_a_resource(interactions):
    chambord = resource(interactions)
    with pytest.raises(AdminOnly):
        resource(interactions, KANGOO, person=BOB)
    with pytest.raises(AdminOnly):
        interactions.as_user(BOB).update_resource(chambord["id"], {"active": False})
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).update_resource(chambord["id"], {"active": False})


def test_an_admin_renames_and_deactivates_a_resource(interactions):
    chambord = resource(interactions)
    changed = interactions.as_user(ALICE).update_resource(
        chambord["id"], {"name": "Salle Chambord (2e étage)", "active": False}
    )
    assert (changed["name"], changed["active"], changed["kind"]) == (
        "Salle Chambord (2e étage)",
        False,
        "room",
    )
    assert interactions.as_user(BOB).list_resources({"active": "true"})["items"] == []


def test_creating_a_resource_again_with_the_same_id_is_a_replay(interactions):
    fields = {**KANGOO, "id": "0192f000-0000-7000-8000-0000000000a1"}
    first = resource(interactions, fields)
    again = resource(interactions, fields)
    assert (again["id"], again["created"]) == (first["id"], False)
    with pytest.raises(IdAlreadyUsed):
        resource(interactions, {**fields, "name": "Kangoo 3"})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({**CHAMBORD, "kind": "salle"}, "kind"),
        ({**CHAMBORD, "name": "   "}, "name"),
        ({**CHAMBORD, "active": "oui"}, "active"),
    ],
)
def test_bad_resource_input_names_the_field_and_changes_nothing(interactions, fields, field):
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        resource(interactions, fields)
    assert field in [error["field"] for error in refused.value.errors]
    assert interactions.footprint() == before


def test_a_resource_kind_cannot_be_removed(interactions):
    chambord = resource(interactions)
    with pytest.raises(InvalidInput, match="kind"):
        interactions.as_user(ALICE).update_resource(chambord["id"], {"kind": None})


# -- bookings -------------------------------------------------------------------------------


def test_a_booking_copies_the_interactions_time(interactions):
    chambord = resource(interactions)
    reunion = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:30:00+01:00")
    booking = book(interactions, reunion, chambord)
    assert (booking["start_at"], booking["end_at"]) == (
        "2026-12-01T08:00:00+00:00",
        "2026-12-01T09:30:00+00:00",
    )
    assert booking["booked_by"] == BOB.user_id
    assert interactions.as_user(BOB).get_interaction(reunion["id"])["resource_ids"] == [chambord["id"]]


def test_an_all_day_booking_takes_the_whole_day_and_an_open_one_an_hour(interactions):
    chambre = resource(interactions, CHAMBRE)
    kangoo = resource(interactions, KANGOO)
    salon = meeting(interactions, "2026-12-03T00:00:00+00:00", None, all_day=True, subject="Salon Batimat")
    livraison = meeting(interactions, "2026-12-04T14:00:00+00:00", None, subject="Livraison Rungis")
    stay = book(interactions, salon, chambre)
    drive = book(interactions, livraison, kangoo)
    assert (stay["start_at"], stay["end_at"]) == ("2026-12-03T00:00:00+00:00", "2026-12-04T00:00:00+00:00")
    assert (drive["start_at"], drive["end_at"]) == ("2026-12-04T14:00:00+00:00", "2026-12-04T15:00:00+00:00")


def test_an_all_day_booking_takes_the_day_its_writer_meant_in_their_offset(interactions):
    kangoo = resource(interactions, KANGOO)
    chantier = meeting(interactions, "2026-03-10T00:00:00+01:00", None, all_day=True, subject="Chantier Lyon")
    stay = book(interactions, chantier, kangoo)
    assert (stay["start_at"], stay["end_at"]) == ("2026-03-09T23:00:00+00:00", "2026-03-10T23:00:00+00:00")

    livraison = meeting(interactions, "2026-03-10T10:00:00+01:00", "2026-03-10T11:00:00+01:00")
    with pytest.raises(DoubleBooking):
        book(interactions, livraison, kangoo)


def test_moving_an_all_day_interaction_moves_its_booking_to_the_day_written(interactions):
    kangoo = resource(interactions, KANGOO)
    chantier = meeting(interactions, "2026-03-30T00:00:00+02:00", None, all_day=True, subject="Chantier Lyon")
    stay = book(interactions, chantier, kangoo)
    assert (stay["start_at"], stay["end_at"]) == ("2026-03-29T22:00:00+00:00", "2026-03-30T22:00:00+00:00")

    interactions.as_user(ALICE).update_interaction(chantier["id"], {"start_at": "2026-03-31T00:00:00+02:00"})

    plan = interactions.as_user(ALICE).resource_planning(
        kangoo["id"], {"since": "2026-03-29", "until": "2026-04-02"}
    )
    assert [(b["start_at"], b["end_at"]) for b in plan["bookings"]] == [
        ("2026-03-30T22:00:00+00:00", "2026-03-31T22:00:00+00:00")
    ]


def test_a_read_only_user_cannot_book_a_room(interactions):
    chambord = resource(interactions)
    reunion = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    before = interactions.footprint()
    with pytest.raises(ReadOnlyUser):
        book(interactions, reunion, chambord, person=CLAIRE)
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).release_resource(reunion["id"], chambord["id"])
    assert interactions.footprint() == before


def test_double_booking_is_a_409_naming_the_conflicting_interaction(interactions):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:30:00+01:00")
    second = meeting(
        interactions, "2026-12-01T10:00:00+01:00", "2026-12-01T11:00:00+01:00", subject="Point Jeanne"
    )
    book(interactions, first, chambord)
    before = interactions.footprint()
    with pytest.raises(DoubleBooking) as refused:
        book(interactions, second, chambord)
    assert first["id"] in refused.value.detail and "Réunion chantier" in refused.value.detail
    [error] = refused.value.errors
    assert (error["field"], error["interaction_id"], error["subject"]) == (
        "resource_id",
        first["id"],
        "Réunion chantier",
    )
    assert problem_from_exception(refused.value).status_code == 409
    assert interactions.footprint() == before


def test_back_to_back_bookings_do_not_overlap(interactions):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T10:00:00+01:00", "2026-12-01T11:00:00+01:00")
    book(interactions, first, chambord)
    assert book(interactions, second, chambord)["interaction_id"] == second["id"]


def test_double_booking_is_allowed_when_the_org_allows_it(interactions):
    interactions.turn_on(allow_double_booking=True)
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:30:00+01:00")
    second = meeting(interactions, "2026-12-01T10:00:00+01:00", "2026-12-01T11:00:00+01:00")
    book(interactions, first, chambord)
    book(interactions, second, chambord)
    assert interactions.count("bookings") == 2


def test_booking_an_inactive_resource_is_refused_naming_resource_id(interactions):
    kangoo = resource(interactions, KANGOO)
    interactions.as_user(ALICE).update_resource(kangoo["id"], {"active": False})
    livraison = meeting(interactions, "2026-12-04T14:00:00+00:00", None)
    with pytest.raises(InvalidInput) as refused:
        book(interactions, livraison, kangoo)
    assert [error["field"] for error in refused.value.errors] == ["resource_id"]
    assert interactions.count("bookings") == 0


def test_booking_again_is_harmless_and_releasing_frees_the_resource(interactions):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T09:30:00+01:00", "2026-12-01T10:00:00+01:00")
    booked = book(interactions, first, chambord)
    assert book(interactions, first, chambord) == booked
    interactions.as_user(BOB).release_resource(first["id"], chambord["id"])
    interactions.as_user(BOB).release_resource(first["id"], chambord["id"])  # a replayed release
    assert book(interactions, second, chambord)["interaction_id"] == second["id"]
    assert interactions.as_user(BOB).get_interaction(first["id"])["resource_ids"] == []


def test_deleting_an_interaction_frees_its_resource(interactions):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    book(interactions, first, chambord)
    interactions.as_user(ALICE).delete_interaction(first["id"])
    assert book(interactions, second, chambord)["interaction_id"] == second["id"]


def test_moving_an_interaction_moves_its_booking_and_refuses_an_overlap(interactions):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T14:00:00+01:00", "2026-12-01T15:00:00+01:00")
    book(interactions, first, chambord)
    book(interactions, second, chambord)

    def move(start: str, end: str, allow: bool = False) -> None:
        with interactions.db.transaction() as uow:
            row = interaction_of(uow.session, POMME, second["id"], lock=True)
            row.start_at, row.end_at = datetime.fromisoformat(start), datetime.fromisoformat(end)
            resources.recheck_bookings(uow.session, POMME, row, allow)

    move("2026-12-01T11:00:00+01:00", "2026-12-01T12:00:00+01:00")
    plan = interactions.as_user(BOB).resource_planning(
        chambord["id"], {"since": "2026-12-01", "until": "2026-12-01"}
    )
    assert [(b["interaction_id"], b["start_at"]) for b in plan["bookings"]] == [
        (first["id"], "2026-12-01T08:00:00+00:00"),
        (second["id"], "2026-12-01T10:00:00+00:00"),
    ]
    before = interactions.footprint()
    with pytest.raises(DoubleBooking) as refused:
        move("2026-12-01T09:30:00+01:00", "2026-12-01T10:30:00+01:00")
    assert refused.value.errors[0]["interaction_id"] == first["id"]
    assert interactions.as_user(BOB).get_interaction(second["id"])["start_at"] == "2026-12-01T10:00:00+00:00"
    assert interactions.footprint() == before
    move("2026-12-01T09:30:00+01:00", "2026-12-01T10:30:00+01:00", allow=True)
    plan = interactions.as_user(BOB).resource_planning(
        chambord["id"], {"since": "2026-12-01", "until": "2026-12-01"}
    )
    assert [b["end_at"] for b in plan["bookings"]] == [
        "2026-12-01T09:00:00+00:00",
        "2026-12-01T09:30:00+00:00",
    ]


def test_another_org_cannot_book_or_see_a_resource(interactions):
    chambord = resource(interactions)
    theirs = meeting(interactions, "2026-12-01T09:00:00+01:00", None, person=DIANE)
    ours = meeting(interactions, "2026-12-01T09:00:00+01:00", None)
    poire = interactions.as_user(DIANE)
    with pytest.raises(ResourceNotFound):
        poire.get_resource(chambord["id"])
    with pytest.raises(ResourceNotFound):
        poire.book_resource(theirs["id"], chambord["id"])
    with pytest.raises(InteractionNotFound):
        poire.book_resource(ours["id"], chambord["id"])
    with pytest.raises(ResourceNotFound):
        poire.resource_planning(chambord["id"], {"since": "2026-12-01", "until": "2026-12-31"})
    with pytest.raises(ResourceNotFound):
        poire.update_resource(chambord["id"], {"active": False})
    assert poire.list_resources({})["items"] == []
    assert interactions.count("bookings") == 0
    assert DIANE.org_id == POIRE


# -- planning -------------------------------------------------------------------------------


def test_the_planning_lists_a_resources_bookings_by_time_within_the_days(interactions):
    kangoo = resource(interactions, KANGOO)
    later = meeting(
        interactions, "2026-12-02T14:00:00+01:00", "2026-12-02T18:00:00+01:00", subject="Livraison"
    )
    earlier = meeting(
        interactions, "2026-12-01T08:00:00+01:00", "2026-12-01T12:00:00+01:00", person=BOB, subject="Tournée"
    )
    outside = meeting(interactions, "2026-12-10T08:00:00+01:00", None, subject="Hors période")
    for item in (later, earlier, outside):
        book(interactions, item, kangoo)
    plan = interactions.as_user(CLAIRE).resource_planning(
        kangoo["id"], {"since": "2026-12-01", "until": "2026-12-02"}
    )
    assert plan["resource"]["name"] == "Kangoo 2"
    assert [
        (b["interaction"]["subject"], b["interaction"]["owner_id"], b["interaction"]["start_at"])
        for b in plan["bookings"]
    ] == [
        ("Tournée", BOB.user_id, "2026-12-01T07:00:00+00:00"),
        ("Livraison", ALICE.user_id, "2026-12-02T13:00:00+00:00"),
    ]


def test_a_planning_that_ends_before_it_starts_names_until(interactions):
    kangoo = resource(interactions, KANGOO)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).resource_planning(
            kangoo["id"], {"since": "2026-12-02", "until": "2026-12-01"}
        )
    assert [error["field"] for error in refused.value.errors] == ["until"]
    with pytest.raises(InvalidInput, match="since"):
        interactions.as_user(BOB).resource_planning(kangoo["id"], {"since": "0", "until": "2026-12-01"})


# -- concurrency ----------------------------------------------------------------------------


def test_concurrent_bookings_of_one_resource_cannot_both_pass(interactions, monkeypatch):
    chambord = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T09:30:00+01:00", "2026-12-01T10:30:00+01:00")
    check = resources.overlapping

    def slow_check(*args, **kwargs):
        conflicts = check(*args, **kwargs)
        eventlet.sleep(0.2)  # both bookings have checked before either commits, unless one waits
        return conflicts

    monkeypatch.setattr(resources, "overlapping", slow_check)
    attempts = [eventlet.spawn(book, interactions, item, chambord) for item in (first, second)]
    outcomes = []
    for attempt in attempts:
        try:
            outcomes.append(attempt.wait()["interaction_id"])
        except DoubleBooking:
            outcomes.append("refused")
    assert sorted(outcomes) == sorted([first["id"], "refused"])
    assert interactions.count("bookings") == 1


def test_moving_an_interaction_onto_a_booked_slot_through_the_service_is_a_409(interactions):
    room = resource(interactions)
    first = meeting(interactions, "2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00")
    second = meeting(interactions, "2026-12-01T11:00:00+01:00", "2026-12-01T12:00:00+01:00")
    book(interactions, first, room)
    book(interactions, second, room)
    with pytest.raises(DoubleBooking, match=first["id"]):
        interactions.as_user(BOB).update_interaction(second["id"], {"start_at": "2026-12-01T09:30:00+01:00"})
    unchanged = interactions.as_user(BOB).get_interaction(second["id"])
    assert (unchanged["start_at"], unchanged["version"]) == ("2026-12-01T10:00:00+00:00", 1)
