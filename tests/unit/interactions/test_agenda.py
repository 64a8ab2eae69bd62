"""The agenda: owned and taken-part interactions over a range of days."""

from __future__ import annotations

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
