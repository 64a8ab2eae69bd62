"""Entrypoints for projects and their planning. The users, contacts and companies a project
names are checked with ``accounts`` and ``contacts`` before its transaction opens.
Mixed into ``InteractionsService``, whose dependencies they use."""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.interactions import projects, references
from services.interactions.resource_schemas import (
    PlanningQuery,
    ProjectCreate,
    ProjectListQuery,
    ProjectUpdate,
)


class ProjectEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    contacts: Any
    _live_ids: Any  # InteractionsService._live_ids

    @rpc
    def create_project(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a project with its users, contacts and companies (each must exist in the
        organisation). Giving the id of an existing project with the same content returns it
        with ``created`` false."""
        caller = self.caller.writer()
        request = validate(ProjectCreate, data)
        references.check_links(self.accounts, self._live_ids(caller), request)
        with self.db.transaction() as uow:
            record, created = projects.create(uow, caller, request)
        return {**record, "created": created}

    @rpc
    def update_project(self, project_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given; a list of users, contacts or companies replaces the project's."""
        caller = self.caller.writer()
        request = validate(ProjectUpdate, changes)
        references.check_links(self.accounts, self._live_ids(caller), request)
        with self.db.transaction() as uow:
            return projects.update(uow, caller, project_id, request)

    @rpc
    def get_project(self, project_id: str) -> dict[str, Any]:
        """One project with its users, contacts and companies."""
        caller = self.caller.user()
        with self.db.read() as session:
            return projects.project_out(session, projects.project_of(session, caller.org_id, project_id))

    @rpc
    def list_projects(self, query: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by a linked user, contact or company; with ``archived``, the
        archived projects instead of the live ones."""
        caller = self.caller.user()
        request = validate(ProjectListQuery, query)
        with self.db.read() as session:
            return projects.list_projects(session, caller.org_id, request)

    @rpc
    def delete_project(self, project_id: str) -> None:
        """Archive the project: it leaves lists, keeps its links; its interactions keep their
        ``project_id``. Archiving it again changes nothing."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            projects.delete_project(uow, caller, project_id)

    @rpc
    def restore_project(self, project_id: str) -> dict[str, Any]:
        """Bring an archived project back with its links (``project_updated``). Not archived:
        ``NotArchived``."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return projects.restore_project(uow, caller, project_id)

    @rpc
    def purge_project(self, project_id: str) -> None:
        """Admin only: delete an archived project for good with its links (``project_purged``);
        its interactions stay, out of any project. Not archived first: ``NotArchived``."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            projects.purge_project(uow, caller, project_id)

    @rpc
    def project_planning(self, project_id: str, query: dict[str, Any]) -> dict[str, Any]:
        """The project's interactions over the days (UTC, both included), by start."""
        caller = self.caller.user()
        request = validate(PlanningQuery, query)
        with self.db.read() as session:
            return projects.planning(session, caller.org_id, project_id, request.since, request.until)
