"""Who is told what when a participant changes: one place for the whole table.

- invited: the invitee gets an ``invitation`` (accept / refuse);
- confirmed by someone else: the participant learns they were ``added``;
- confirmed by the invitee themself: the owner learns it was ``accepted``;
- refused (by the invitee): the owner learns it was ``refused``;
- removed: the removed user learns it.

Nobody is ever told about their own act: an owner adding themself, or a user
leaving on their own, makes no notification.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.notifier.schemas import ParticipantEvent

PARTICIPANT_EVENTS = (
    "participant_invited",
    "participant_confirmed",
    "participant_refused",
    "participant_removed",
)


@dataclass(frozen=True)
class Delivery:
    """The notification an event calls for: to whom, and of which kind."""

    recipient_id: str
    kind: str


def delivery_for(event_type: str, event: ParticipantEvent) -> Delivery | None:
    """The notification ``event`` calls for, or None (an actor's own act, an unknown type)."""
    participant = event.record.participant.user_id
    owner = event.record.interaction.owner_id
    actor = event.actor_id
    if event_type == "participant_invited":
        delivery = Delivery(participant, "invitation")
    elif event_type == "participant_confirmed":
        accepted = actor == participant
        delivery = Delivery(owner, "accepted") if accepted else Delivery(participant, "added")
    elif event_type == "participant_refused":
        delivery = Delivery(owner, "refused")
    elif event_type == "participant_removed":
        delivery = Delivery(participant, "removed")
    else:
        return None
    if delivery.recipient_id == actor:
        return None
    return delivery
