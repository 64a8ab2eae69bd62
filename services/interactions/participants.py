"""Participants of an interaction: invited or confirmed by the organiser, answered by themselves.

The owner stays the organiser and is never a participant. Only the organiser
(or an admin) adds participants; only the invited user accepts or refuses;
the organiser, an admin or the participant themself removes a participation.
Each change is announced (``participant_invited|confirmed|refused|removed``)
with the interaction's summary, for the notifier and for sync.
"""

from __future__ import annotations

from typing import Any

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.times import utcnow
from services.interactions.exceptions import NotOrganiser, ParticipantNotFound
from services.interactions.interaction_records import participant_out, summary_out
from services.interactions.interactions import interaction_of
from services.interactions.models import Interaction, Participant
from services.interactions.schemas import ParticipantAdd

INVITED, CONFIRMED, REFUSED = "invited", "confirmed", "refused"


def _announce(
    uow: UnitOfWork, event: str, actor: Caller, row: Interaction, participant: dict[str, Any]
) -> None:
    record = {"interaction": summary_out(row), "participant": participant}
    uow.emit(event, org_id=row.org_id, actor_id=actor.user_id, record=record)


def _require_organiser(caller: Caller, row: Interaction) -> None:
    if row.owner_id != caller.user_id and not caller.is_admin:
        raise NotOrganiser("only the organiser of the interaction (its owner) or an admin may do this")


def add(
    uow: UnitOfWork, caller: Caller, interaction_id: str, request: ParticipantAdd
) -> tuple[dict[str, Any], bool]:
    """Invite a user, or add them as confirmed; the same again is a replay (``False``)."""
    session = uow.session
    row = interaction_of(session, caller.org_id, interaction_id, lock=True)
    _require_organiser(caller, row)
    if request.user_id == row.owner_id:
        raise invalid("user_id", "is the organiser of the interaction")
    participant = session.get(Participant, (row.id, request.user_id))
    if participant is not None and participant.status == request.status:
        return participant_out(participant), False
    now = utcnow()
    if participant is None:
        participant = Participant(interaction_id=row.id, user_id=request.user_id, org_id=row.org_id)
        session.add(participant)
    participant.status = request.status
    participant.invited_by = caller.user_id
    participant.invited_at = now
    participant.responded_at = None
    participant.start_at = row.start_at
    session.flush()
    out = participant_out(participant)
    _announce(uow, f"participant_{request.status}", caller, row, out)
    return out, True


def respond(uow: UnitOfWork, caller: Caller, interaction_id: str, accept: bool) -> dict[str, Any]:
    """The caller accepts or refuses their own invitation; no invitation is not found."""
    session = uow.session
    row = interaction_of(session, caller.org_id, interaction_id)
    participant = session.get(Participant, (row.id, caller.user_id))
    if participant is None:
        raise ParticipantNotFound(f"you are not invited to interaction {row.id}")
    status = CONFIRMED if accept else REFUSED
    if participant.status == status:
        return participant_out(participant)
    participant.status, participant.responded_at = status, utcnow()
    session.flush()
    out = participant_out(participant)
    _announce(uow, f"participant_{status}", caller, row, out)
    return out


def remove(uow: UnitOfWork, caller: Caller, interaction_id: str, user_id: str) -> None:
    session = uow.session
    row = interaction_of(session, caller.org_id, interaction_id, lock=True)
    if user_id != caller.user_id:
        _require_organiser(caller, row)
    participant = session.get(Participant, (row.id, user_id))
    if participant is None:
        raise ParticipantNotFound(f"user {user_id} does not take part in interaction {row.id}")
    out = {**participant_out(participant), "status": "removed"}
    session.delete(participant)
    _announce(uow, "participant_removed", caller, row, out)
