"""Participant events as the interactions service emits them, with CRM-like test data."""

from __future__ import annotations

from typing import Any

from crm.ids import new_id
from tests.people import ALICE, BOB, POMME, Person

CHANTIER = {
    "id": "0193a000-0000-7000-8000-00000000c4a1",
    "subject": "Réunion chantier Pomme",
    "type": "meeting",
    "status": "planned",
    "start_at": "2026-11-24T09:30:00+00:00",
    "end_at": "2026-11-24T11:00:00+00:00",
    "all_day": False,
    "owner_id": ALICE.user_id,
}


def participant_event(
    event_type: str,
    participant: Person = BOB,
    actor: Person | None = ALICE,
    interaction: dict[str, Any] | None = None,
    org_id: str = POMME,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The envelope of a ``participant_*`` event (``crm.outbox.new_event``)."""
    status = event_type.removeprefix("participant_")
    return {
        "event_id": event_id or new_id(),
        "event_type": event_type,
        "org_id": org_id,
        "occurred_at": "2026-11-22T08:00:00+00:00",
        "actor_id": actor.user_id if actor else None,
        "record": {
            "interaction": dict(interaction or CHANTIER),
            # As services/interactions/participants.py announces it (extra fields are ignored).
            "participant": {
                "user_id": participant.user_id,
                "status": status,
                "invited_by": ALICE.user_id,
                "invited_at": "2026-11-22T08:00:00+00:00",
                "responded_at": None,
            },
        },
    }


def invited(participant: Person = BOB, actor: Person = ALICE, **kwargs: Any) -> dict[str, Any]:
    return participant_event("participant_invited", participant, actor, **kwargs)
