"""Timestamped notes: stamped in their author's time zone, appended, never rewritten."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions import notes
from services.interactions.exceptions import IdAlreadyUsed, InteractionNotFound
from services.interactions.service import InteractionsService
from tests.people import ALICE, BOB, CLAIRE, DIANE

APPEL = {"subject": "Appel Jeanne Dupont", "type": "call", "start_at": "2026-12-01T09:00:00+01:00"}


@pytest.fixture
def appel(interactions) -> str:
    return interactions.as_user(ALICE).create_interaction(APPEL)["id"]


def at(monkeypatch, moment: str) -> None:
    monkeypatch.setattr(notes, "utcnow", lambda: datetime.fromisoformat(moment).astimezone(UTC))


def test_a_note_is_stamped_in_the_authors_time_zone_and_earlier_notes_stay(interactions, appel, monkeypatch):
    at(monkeypatch, "2026-12-01T08:05:00+00:00")
    first = interactions.as_user(BOB).append_note(appel, {"text": "Jeanne rappelle après 14 h."})
    at(monkeypatch, "2026-12-01T16:40:00+00:00")
    interactions.as_user(ALICE).append_note(appel, {"text": "Devis envoyé, relance lundi."})

    listed = interactions.as_user(CLAIRE).list_notes(appel)

    assert first["stamp"] == "Bruno Petit, 01/12/2026 03:05 (America/Montreal)"
    assert [(note["stamp"], note["text"]) for note in listed] == [
        ("Bruno Petit, 01/12/2026 03:05 (America/Montreal)", "Jeanne rappelle après 14 h."),
        ("Alice Martin, 01/12/2026 17:40 (Europe/Paris)", "Devis envoyé, relance lundi."),
    ]
    assert [note["written_at"] for note in listed] == [
        "2026-12-01T08:05:00+00:00",
        "2026-12-01T16:40:00+00:00",
    ]
    assert listed[0]["author_id"] == BOB.user_id
    assert interactions.events("interaction_note_added")[0]["record"]["id"] == first["id"]


def test_a_read_only_user_cannot_append_a_note(interactions, appel):
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).append_note(appel, {"text": "Je ne devrais pas pouvoir écrire."})
    assert interactions.count("notes") == 0


def test_notes_are_append_only():
    assert not [name for name in dir(InteractionsService) if name.startswith(("update_note", "delete_note"))]


def test_an_empty_note_is_refused(interactions, appel):
    with pytest.raises(InvalidInput, match="text"):
        interactions.as_user(BOB).append_note(appel, {"text": "   "})


def test_notes_of_another_orgs_interaction_are_not_found(interactions, appel):
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).append_note(appel, {"text": "Intrusion"})
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).list_notes(appel)


def test_a_note_sent_again_with_its_id_is_appended_once(interactions, appel):
    note = {"id": "0192f000-0000-7000-8000-0000000000b1", "text": "Noté hors ligne dans le train."}
    first = interactions.as_user(BOB).append_note(appel, note)
    again = interactions.as_user(BOB).append_note(appel, note)
    assert (first["created"], again["created"], again["stamp"]) == (True, False, first["stamp"])
    with pytest.raises(IdAlreadyUsed):
        interactions.as_user(BOB).append_note(appel, {**note, "text": "Autre texte"})
    assert interactions.count("notes") == 1


def test_a_stamp_falls_back_to_utc_for_an_unknown_time_zone():
    moment = datetime(2026, 11, 22, 16, 5, tzinfo=UTC)
    assert (
        notes.stamp("Alice Martin", moment, "Europe/Paris") == "Alice Martin, 22/11/2026 17:05 (Europe/Paris)"
    )
    assert notes.stamp("Alice Martin", moment, "Lune/Base") == "Alice Martin, 22/11/2026 16:05 (UTC)"
