"""The agenda: owned and taken-part interactions over a range of days."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from tests.people import ALICE, BOB
from tests.unit.interactions.meetings import create


def test_the_agenda_shows_owned_and_taken_part_interactions_but_not_refused_ones(interactions):
    interactions.turn_on(multi_user_interactions=True)
    mine = create(interactions, person=BOB, subject="Appel Jeanne")
    invited = create(
        interactions, subject="Réunion d'équipe", start_at="2026-12-02T09:00:00+01:00", end_at=None
    )
    refused = create(interactions, subject="Salon", start_at="2026-12-03T09:00:00+01:00", end_at=None)
    create(interactions, subject="Hors période", start_at="2027-01-15T09:00:00+01:00", end_at=None)
    for item in (invited, refused):
        interactions.as_user(ALICE).add_participant(item["id"], {"user_id": BOB.user_id})
    interactions.as_user(BOB).respond_to_invitation(refused["id"], False)
    agenda = interactions.as_user(BOB).get_agenda({"since": "2026-12-01", "until": "2026-12-31"})
    assert [item["id"] for item in agenda] == [mine["id"], invited["id"]]
    both = interactions.as_user(BOB).get_agenda(
        {"since": "2026-12-01", "until": "2026-12-31", "user_ids": f"{ALICE.user_id},{BOB.user_id}"}
    )
    assert len(both) == 3


def test_the_agenda_shows_interactions_that_began_long_before_the_range_and_still_run(interactions):
    interactions.turn_on(multi_user_interactions=True)
    chantier = create(
        interactions,
        person=BOB,
        type="task",
        subject="Chantier Pomme Entrepôts",
        start_at="2026-10-01T08:00:00+02:00",
        end_at="2026-12-10T18:00:00+01:00",
    )
    formation = create(
        interactions,
        subject="Formation longue",
        start_at="2026-11-02T09:00:00+01:00",
        end_at="2026-12-04T17:00:00+01:00",
    )
    interactions.as_user(ALICE).add_participant(formation["id"], {"user_id": BOB.user_id})
    create(  # long, but over before the range
        interactions,
        person=BOB,
        subject="Inventaire",
        start_at="2026-09-01T08:00:00+02:00",
        end_at="2026-11-20T18:00:00+01:00",
    )
    shortened = create(
        interactions,
        person=BOB,
        subject="Audit",
        start_at="2026-10-05T08:00:00+02:00",
        end_at="2026-12-20T18:00:00+01:00",
    )
    interactions.as_user(BOB).update_interaction(
        shortened["id"], {"end_at": "2026-10-06T18:00:00+02:00", "version": shortened["version"]}
    )
    agenda = interactions.as_user(BOB).get_agenda({"since": "2026-12-01", "until": "2026-12-31"})
    assert [item["id"] for item in agenda] == [chantier["id"], formation["id"]]


def test_the_agenda_takes_date_times_with_their_offsets_as_well_as_days(interactions):
    morning = create(interactions, person=BOB, start_at="2026-12-02T09:00:00+01:00", end_at=None)
    afternoon = create(interactions, person=BOB, start_at="2026-12-02T15:00:00+01:00", end_at=None)
    bob = interactions.as_user(BOB)

    until_noon = bob.get_agenda({"since": "2026-12-02T00:00:00+01:00", "until": "2026-12-02T12:00:00+01:00"})
    from_noon = bob.get_agenda({"since": "2026-12-02T12:00:00+01:00", "until": "2026-12-03"})

    assert [item["id"] for item in until_noon] == [morning["id"]]
    assert [item["id"] for item in from_noon] == [afternoon["id"]]


@pytest.mark.parametrize("since", ["0", "2026-12-02T09:00:00", "02/12/2026", "demain"])
def test_an_agenda_bound_that_is_neither_a_day_nor_a_date_time_with_offset_is_refused_naming_it(
    interactions, since
):
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).get_agenda({"since": since, "until": "2026-12-31"})
    assert [error["field"] for error in refused.value.errors] == ["since"]
