"""interactions: entrypoints for resources (rooms, vehicles, hotel rooms) and their bookings.

Mixed into ``InteractionsService``, which provides ``db``, ``caller``,
``accounts`` and ``contacts``. The same rules hold as for its own entrypoints:
everything happens within the caller's organisation, and read-only users read.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.interactions import resources
from services.interactions.resource_schemas import (
    PlanningQuery,
    ResourceCreate,
    ResourceListQuery,
    ResourceUpdate,
)


class ResourceEntrypoints:
    db: Any
    caller: Any
    accounts: Any

    # -- resources ------------------------------------------------------------------------------

    @rpc
    def create_resource(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a room, vehicle, hotel room or other resource (admin). Giving the id of an
        existing resource with the same content returns it with ``created`` false."""
        caller = self.caller.admin_writer()
        request = validate(ResourceCreate, data)
        with self.db.transaction() as uow:
            record, created = resources.create_resource(uow.session, caller, request)
        return {**record, "created": created}

    @rpc
    def update_resource(self, resource_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a resource's name, kind, description or active flag (admin). An inactive
        resource keeps its bookings and takes no new ones."""
        caller = self.caller.admin_writer()
        request = validate(ResourceUpdate, changes)
        with self.db.transaction() as uow:
            return resources.update_resource(uow.session, caller, resource_id, request)

    @rpc
    def get_resource(self, resource_id: str) -> dict[str, Any]:
        """One resource of the organisation."""
        caller = self.caller.user()
        with self.db.read() as session:
            return resources.resource_out(resources.resource_of(session, caller.org_id, resource_id))

    @rpc
    def list_resources(self, query: dict[str, Any]) -> dict[str, Any]:
        """The organisation's resources by name, filtered by kind and active flag."""
        caller = self.caller.user()
        request = validate(ResourceListQuery, query)
        with self.db.read() as session:
            return resources.list_resources(session, caller.org_id, request)

    @rpc
    def resource_planning(self, resource_id: str, query: dict[str, Any]) -> dict[str, Any]:
        """The resource's bookings over the days (UTC, both included), by time, each with its
        interaction's subject, owner, start and end."""
        caller = self.caller.user()
        request = validate(PlanningQuery, query)
        with self.db.read() as session:
            return resources.planning(session, caller.org_id, resource_id, request.since, request.until)

    # -- bookings -------------------------------------------------------------------------------

    @rpc
    def book_resource(self, interaction_id: str, resource_id: str) -> dict[str, Any]:
        """Book the resource for the interaction's time; booking it again returns the booking.
        A booking that overlaps another interaction's is ``DoubleBooking`` naming that
        interaction, unless the organisation setting ``allow_double_booking`` is on; an
        inactive resource is invalid ``resource_id``."""
        caller = self.caller.writer()
        settings = self.accounts.get_org_settings(caller.org_id)
        allow = bool(settings.get("allow_double_booking"))
        with self.db.transaction() as uow:
            return resources.book(uow.session, caller, interaction_id, resource_id, allow)

    @rpc
    def release_resource(self, interaction_id: str, resource_id: str) -> None:
        """Free the resource from the interaction; releasing what is not booked changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            resources.release(uow.session, caller, interaction_id, resource_id)
