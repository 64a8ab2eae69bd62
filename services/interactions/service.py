"""interactions: interactions, participants, agenda and reports. Entrypoints only.

Every call acts for the caller of the access token, within their organisation:
another organisation's record is not found, and read-only users may read but
not write. Users, contacts and companies named in a request are checked with
the services that own them (``accounts``, ``contacts``), with the caller's token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from eventlet.semaphore import Semaphore
from nameko.dependency_providers import Config

from crm.auth import Caller, CallerProvider
from crm.database import Database
from crm.errors import NotFound, invalid
from crm.events import durable_event_handler
from crm.health import Pingable
from crm.rpc import RpcClient, rpc
from crm.validation import validate
from services.interactions import (
    agenda,
    catalogue,
    interaction_records,
    interactions,
    participants,
    pending_email,
    references,
    reports,
    resources,
)
from services.interactions.dependencies import CallerUsers, LiveReferenceWatch
from services.interactions.exceptions import MultiUserInteractionsOff
from services.interactions.models import Base
from services.interactions.schemas import (
    AgendaQuery,
    InteractionCreate,
    InteractionListQuery,
    InteractionUpdate,
    ParticipantAdd,
    PipelineQuery,
    TypeUpdate,
)
from services.interactions.service_checkins import CheckInEntrypoints
from services.interactions.service_documents import DocumentEntrypoints
from services.interactions.service_notes import NoteEntrypoints
from services.interactions.service_projects import ProjectEntrypoints
from services.interactions.service_resources import ResourceEntrypoints
from services.interactions.service_templates import TemplateEntrypoints
from services.interactions.service_timers import TimerEntrypoints

import services.accounts.exceptions  # noqa: F401, E402  isort: skip  (their errors cross RPC as themselves)
import services.contacts.exceptions  # noqa: F401, E402  isort: skip

MAILIN = "mailin"

log = logging.getLogger(__name__)


class InteractionsService(
    ResourceEntrypoints,
    ProjectEntrypoints,
    TemplateEntrypoints,
    TimerEntrypoints,
    NoteEntrypoints,
    DocumentEntrypoints,
    CheckInEntrypoints,
    Pingable,
):
    name = "interactions"

    db = Database(Base.metadata)
    caller = CallerProvider()
    accounts = RpcClient("accounts")
    caller_users = CallerUsers()  # accounts' answers about the caller, by user version
    live_references = LiveReferenceWatch()  # contacts and companies seen live, until archived
    contacts = RpcClient("contacts")
    config = Config()

    # -- checks with the services that own users, contacts and companies ---------------------------

    def _check_user(self, user_id: str, field: str) -> dict[str, Any]:
        try:
            return self.accounts.get_user(user_id)
        except NotFound:
            raise invalid(field, f"no user {user_id} in your organisation") from None

    def _check_request(self, caller: Caller, request: InteractionCreate | InteractionUpdate) -> None:
        if request.owner_id is not None and request.owner_id != caller.user_id:
            self._check_user(request.owner_id, "owner_id")
        references.check_links(self.accounts, self._live_ids(caller), request)

    def _live_ids(self, caller: Caller) -> Callable[[list[str], list[str]], dict[str, list[str]]]:
        """``contacts.live_ids`` for the caller, asked only of the ids this process has not seen
        live since it last heard contacts' archives (``live_references``)."""
        return partial(self.live_references.live_ids, caller.org_id, ask=self.contacts.live_ids)

    # -- types ----------------------------------------------------------------------------------

    @rpc
    def list_types(self) -> list[dict[str, Any]]:
        """The organisation's interaction types with their statuses (seeded with defaults)."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            return [catalogue.type_out(row) for row in catalogue.types_of(uow.session, caller.org_id)]

    @rpc
    def put_type(self, type_key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a type and its statuses (admin). Statuses in use stay valid only if kept."""
        caller = self.caller.admin_writer()
        request = validate(TypeUpdate, data)
        with self.db.transaction() as uow:
            return catalogue.put_type(uow.session, caller.org_id, type_key, request)

    # -- interactions ---------------------------------------------------------------------------

    @rpc
    def create_interaction(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an interaction (status defaults to the type's first). Giving the id of an
        existing interaction with the same content returns it with ``created`` false."""
        caller = self.caller.writer()
        request = validate(InteractionCreate, data)
        self._check_request(caller, request)
        with self.db.transaction() as uow:
            record, created = interactions.create(uow, caller, request)
        return {**record, "created": created}

    @rpc
    def get_interaction(self, interaction_id: str) -> dict[str, Any]:
        """One interaction with its contacts, companies, participants and booked resources."""
        caller = self.caller.user()
        with self.db.read() as session:
            return interaction_records.interaction_out(
                session, interactions.interaction_of(session, caller.org_id, interaction_id)
            )

    @rpc
    def update_interaction(self, interaction_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given; a stale ``version`` is a conflict."""
        caller = self.caller.writer()
        request = validate(InteractionUpdate, changes)
        self._check_request(caller, request)
        moved = {"start_at", "end_at", "all_day"} & request.model_fields_set
        allow = bool(moved) and bool(
            self.accounts.get_org_settings(caller.org_id).get("allow_double_booking")
        )
        with self.db.transaction() as uow:
            return interactions.update(
                uow,
                caller,
                interaction_id,
                request,
                moved=lambda row: resources.recheck_bookings(uow.session, caller.org_id, row, allow),
            )

    @rpc
    def delete_interaction(self, interaction_id: str) -> None:
        """Archive the interaction, by its owner or an admin only (``NotInteractionOwner``): it
        leaves lists, the agenda and reports, keeps its links, participants, notes and documents;
        its resource bookings are released. Archiving it again changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            interactions.delete_interaction(uow, caller, interaction_id)

    @rpc
    def restore_interaction(self, interaction_id: str) -> dict[str, Any]:
        """Bring an archived interaction back with its links (``interaction_updated``); its
        resources are not booked again. Not archived: ``NotArchived``."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return interactions.restore_interaction(uow, caller, interaction_id)

    @rpc
    def purge_interaction(self, interaction_id: str) -> None:
        """Admin only: delete an archived interaction for good with what belongs to it alone
        (``interaction_purged``). Not archived first: ``NotArchived``."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            interactions.purge_interaction(uow, caller, interaction_id)

    @rpc
    def list_interactions(self, query: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by user (owned or taking part), type, status, project, contact, company;
        with ``archived``, the archived interactions instead of the live ones."""
        caller = self.caller.user()
        request = validate(InteractionListQuery, query)
        with self.db.read() as session:
            return interactions.list_interactions(session, caller, request)

    # -- participants ---------------------------------------------------------------------------

    @rpc
    def add_participant(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Invite a user (or add them as confirmed), organiser or admin only, when the organisation
        has multi-user interactions on; otherwise a conflict that says so."""
        caller = self.caller.writer()
        request = validate(ParticipantAdd, data)
        settings = self.accounts.get_org_settings(caller.org_id)
        if not settings.get("multi_user_interactions"):
            raise MultiUserInteractionsOff(
                "multi-user interactions are off for this organisation: an admin turns on "
                "multi_user_interactions in PATCH /api/v1/settings"
            )
        self._check_user(request.user_id, "user_id")
        with self.db.transaction() as uow:
            participant, created = participants.add(uow, caller, interaction_id, request)
        return {**participant, "created": created}

    @rpc
    def respond_to_invitation(self, interaction_id: str, accept: bool) -> dict[str, Any]:
        """The caller accepts or refuses their own invitation (no invitation: not found)."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return participants.respond(uow, caller, interaction_id, bool(accept))

    @rpc
    def remove_participant(self, interaction_id: str, user_id: str) -> None:
        """The organiser or an admin removes a participant; a participant may leave."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            participants.remove(uow, caller, interaction_id, user_id)

    # -- agenda and reports ---------------------------------------------------------------------

    @rpc
    def get_agenda(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Interactions of the users (default: the caller) over the days, owned or taking part."""
        caller = self.caller.user()
        request = validate(AgendaQuery, query)
        user_ids = [user for user in (request.user_ids or "").split(",") if user] or [caller.user_id]
        with self.db.read() as session:
            return agenda.agenda(session, caller.org_id, user_ids, request.since, request.until)

    @rpc
    def sales_pipeline(self, query: dict[str, Any]) -> dict[str, Any]:
        """Per company (with its name, from contacts), the count and budgets of interactions of
        the types and statuses asked (default: sales opportunities not closed)."""
        caller = self.caller.user()
        request = validate(PipelineQuery, query)
        with self.db.transaction() as uow:
            found = reports.pipeline(uow.session, caller.org_id, request.types, request.statuses)
        return reports.with_company_refs(found, self.contacts.company_refs)

    @rpc
    def unclosed_invoices(self) -> dict[str, Any]:
        """Purchase and sales invoices that have not reached a closed status."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            return reports.unclosed_invoices(uow.session, caller.org_id)

    # -- mail ingestion -------------------------------------------------------------------------

    @durable_event_handler(MAILIN, "mail_received")
    def on_mail_received(self, payload: dict[str, Any]) -> None:
        """A mail reached a user: it becomes their pending e-mail interaction, with its links,
        documents and a note on what could not be read (once per event and per user and
        message key). A failure (the database away) puts the event back, after a pause, so
        the mail is not lost (``crm.events``); a malformed event is logged and dropped."""
        with _mail_slots(self.config["CRM"].database.pool_size):
            pending_email.receive(self.db, payload)


@lru_cache(maxsize=4)
def _mail_slots(pool_size: int) -> Semaphore:
    """Pending e-mails made at once in this process: half of the database pool. Mail arrives in
    bursts (mailin's batches) that up to ``bus.max_workers`` workers would take together; past
    the pool's connections each one opened an overflow connection that was closed again as it
    was returned (a new PostgreSQL backend every few mails), and the users' requests waited
    behind them for a connection."""
    return Semaphore(max(1, pool_size // 2))
