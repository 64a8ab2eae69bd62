"""Entrypoints for geographic check-ins: a visit of an interaction's client, opened where the phone
is and closed by a check-out. Mixed into ``InteractionsService``, whose dependencies they use.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.interactions import checkins
from services.interactions.checkin_schemas import CheckInRequest


class CheckInEntrypoints:
    db: Any
    caller: Any
    contacts: Any

    @rpc
    def check_in(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Open the caller's visit of the interaction where the phone is (``latitude``,
        ``longitude``, ``accuracy_m``), with the distance to its first linked company with a
        position, else its first linked contact with one (asked of ``contacts.positions`` with the
        caller's token). Beyond the type's ``checkin_radius_m`` it is refused (``TooFarToCheckIn``,
        saying how far and the radius) and nothing is written; without any known position it is
        recorded with ``position_known`` false. An open visit of the caller is a conflict; the id
        of an existing check-in with the same position is a replay (``created`` false)."""
        caller = self.caller.writer()
        request = validate(CheckInRequest, data)
        with self.db.read() as session:
            links = checkins.linked_ids(session, caller.org_id, interaction_id)
        places: dict[str, Any] = {"companies": {}, "contacts": {}}
        if links["company"] or links["contact"]:
            places = self.contacts.positions(links["contact"], links["company"])
        with self.db.transaction() as uow:
            record, created = checkins.check_in(uow, caller, interaction_id, request, places)
        return {**record, "created": created}

    @rpc
    def check_out(self, interaction_id: str) -> dict[str, Any]:
        """Close the caller's open visit of the interaction; the answer carries its
        ``duration_seconds``. No open visit is a conflict, and changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return checkins.check_out(uow, caller, interaction_id)

    @rpc
    def list_check_ins(self, interaction_id: str) -> list[dict[str, Any]]:
        """The interaction's check-ins, every user's, oldest first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return checkins.list_check_ins(session, caller, interaction_id)
