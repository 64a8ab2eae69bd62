"""A meeting at Pomme Siège Central, as the interactions tests create it."""

from __future__ import annotations

from tests.people import ALICE
from tests.unit.interactions.conftest import JEANNE, SIEGE

MEETING = {
    "subject": "Réunion chantier Pomme Siège Central",
    "type": "meeting",
    "start_at": "2026-12-01T09:00:00+01:00",
    "end_at": "2026-12-01T10:30:00+01:00",
    "budget": {"amount": "1200.00", "currency": "EUR"},
    "contact_ids": [JEANNE],
    "company_ids": [SIEGE],
}


def create(interactions, person=ALICE, **fields) -> dict:
    return interactions.as_user(person).create_interaction({**MEETING, **fields})
