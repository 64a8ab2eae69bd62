"""What notifications say, where they point and what they offer."""

from __future__ import annotations

from services.notifier.schemas import InteractionSummary
from services.notifier.wording import when, wording_for
from tests.unit.notifier.events import CHANTIER

LINK = f"/api/v1/interactions/{CHANTIER['id']}"


def _interaction(**changes) -> InteractionSummary:
    return InteractionSummary.model_validate({**CHANTIER, **changes})


def test_an_invitation_names_the_subject_and_start_and_offers_accept_and_refuse():
    wording = wording_for("invitation", _interaction(), "user-bob")

    assert wording.title == "Invitation: Réunion chantier Pomme"
    assert (
        wording.body
        == 'You are invited to the meeting "Réunion chantier Pomme" on Tue 24 Nov 2026 at 09:30 UTC.'
    )
    assert wording.link == LINK
    assert wording.actions == [
        {"name": "accept", "method": "POST", "href": f"{LINK}/participants/me/accept"},
        {"name": "refuse", "method": "POST", "href": f"{LINK}/participants/me/refuse"},
    ]


def test_an_acceptance_names_the_participant_and_offers_no_action():
    wording = wording_for("accepted", _interaction(), "user-bob")

    assert wording.title == "Invitation accepted: Réunion chantier Pomme"
    assert "user-bob" in wording.body
    assert wording.actions == []


def test_start_times_are_written_in_utc():
    assert when(_interaction(start_at="2026-11-24T10:30:00+01:00")) == " on Tue 24 Nov 2026 at 09:30 UTC"


def test_an_all_day_interaction_is_written_by_its_own_date():
    assert when(_interaction(start_at="2026-11-24T00:00:00+01:00", all_day=True)) == " on Tue 24 Nov 2026"


def test_an_interaction_without_a_start_has_no_time():
    assert when(_interaction(start_at=None)) == ""


def test_a_type_is_written_in_words():
    wording = wording_for("removed", _interaction(type="sales_opportunity", start_at=None), "user-bob")

    assert wording.body == 'You were removed from the sales opportunity "Réunion chantier Pomme".'


def test_a_very_long_subject_is_shortened_in_the_title():
    wording = wording_for("added", _interaction(subject="Chambre 404 " * 30), "user-bob")

    assert len(wording.title) <= 160
    assert wording.title.endswith("…")
