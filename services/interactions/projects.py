"""Projects: a name, dates, the users, contacts and companies involved, and their interactions.

Every user of the organisation sees the projects; writers change them. Users
are checked with ``accounts``, contacts and companies with ``contacts``
(``references.check_links``), before the database work begins. Deleting a project
archives it: its interactions keep their ``project_id``, restoring it brings it back
with its links; an admin purges an archived one for good. Each change bumps its
``version`` and is announced (``project_created|updated|deleted``) with the project as
it is now; a purge is ``project_purged`` with its id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import cursor_row, record_of, replayed
from crm.times import iso, utcnow
from services.interactions.exceptions import NotArchived, ProjectNotFound
from services.interactions.interaction_records import interactions_out
from services.interactions.models import Interaction, Project, ProjectLink, TimeEntry
from services.interactions.resource_schemas import ProjectCreate, ProjectListQuery, ProjectUpdate
from services.interactions.spans import day_window

LINK_KINDS = {"user": "user_ids", "contact": "contact_ids", "company": "company_ids"}


def project_of(session: Session, org_id: str, project_id: str, *, lock: bool = False) -> Project:
    """A live project of ``org_id``; another organisation's, or a deleted one, is not found."""
    return record_of(session, Project, org_id, project_id, ProjectNotFound, "project", lock=lock)


def create(uow: UnitOfWork, caller: Caller, request: ProjectCreate) -> tuple[dict[str, Any], bool]:
    """A new project; an existing id with the same content is a replay (``False``)."""
    session = uow.session
    _check_dates(request.start_date, request.end_date)
    existing = replayed(
        session,
        Project,
        request.id,
        caller.org_id,
        lambda row: _same_content(project_out(session, row), request),
    )
    if existing is not None:
        return project_out(session, existing), False
    now = utcnow()
    row = Project(
        id=request.id or new_id(),
        org_id=caller.org_id,
        name=request.name,
        description=request.description,
        start_date=request.start_date,
        end_date=request.end_date,
        version=1,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    for kind, field in LINK_KINDS.items():
        _set_links(session, row, kind, getattr(request, field))
    session.flush()
    record = project_out(session, row)
    uow.emit("project_created", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record, True


def _same_content(current: dict[str, Any], request: ProjectCreate) -> bool:
    wanted = request.model_dump(mode="json", exclude={"id"})
    for field in LINK_KINDS.values():
        wanted[field] = sorted(set(wanted[field]))
    return all(current[field] == value for field, value in wanted.items())


def update(uow: UnitOfWork, caller: Caller, project_id: str, request: ProjectUpdate) -> dict[str, Any]:
    """Change the fields given; a list given replaces the project's. No change, no event."""
    session = uow.session
    row = project_of(session, caller.org_id, project_id, lock=True)
    before = project_out(session, row)
    changes = request.model_dump(exclude_unset=True)
    if "name" in changes and request.name is None:
        raise invalid("name", "may not be null")
    for field in ("name", "description", "start_date", "end_date"):
        if field in changes:
            setattr(row, field, changes[field])
    _check_dates(row.start_date, row.end_date)
    for kind, field in LINK_KINDS.items():
        if changes.get(field) is not None:
            _set_links(session, row, kind, changes[field])
    session.flush()
    if project_out(session, row) == before:
        return before
    row.version += 1
    row.updated_at = utcnow()
    session.flush()
    record = project_out(session, row)
    uow.emit("project_updated", org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record


def _archived_or_live(session: Session, org_id: str, project_id: str) -> Project:
    return record_of(
        session, Project, org_id, project_id, ProjectNotFound, "project", lock=True, with_deleted=True
    )


def _announce(uow: UnitOfWork, caller: Caller, row: Project, event_type: str) -> dict[str, Any]:
    row.version += 1
    row.updated_at = utcnow()
    uow.session.flush()
    record = project_out(uow.session, row)
    uow.emit(event_type, org_id=row.org_id, actor_id=caller.user_id, record=record)
    return record


def delete_project(uow: UnitOfWork, caller: Caller, project_id: str) -> None:
    """Archive: the project leaves lists, keeps its links, its interactions keep their
    ``project_id`` (``project_deleted`` with the record as it now is). Archiving it again changes
    nothing (a replayed delete)."""
    row = _archived_or_live(uow.session, caller.org_id, project_id)
    if row.deleted_at is not None:
        return
    row.deleted_at = utcnow()
    _announce(uow, caller, row, "project_deleted")


def restore_project(uow: UnitOfWork, caller: Caller, project_id: str) -> dict[str, Any]:
    """Bring an archived project back with its links (``project_updated``); a live one is
    ``NotArchived``."""
    row = _archived_or_live(uow.session, caller.org_id, project_id)
    if row.deleted_at is None:
        raise NotArchived(f"project {project_id} is not archived: only an archived project is restored")
    row.deleted_at = None
    return _announce(uow, caller, row, "project_updated")


def purge_project(uow: UnitOfWork, caller: Caller, project_id: str) -> None:
    """Delete an archived project for good with its links (``project_purged``). Its interactions
    stay, out of any project: the live ones are announced (``interaction_updated``), an archived
    one carries the change when it is restored; time entries lose the project too. A live
    project is ``NotArchived``: archive it first."""
    session = uow.session
    row = _archived_or_live(session, caller.org_id, project_id)
    if row.deleted_at is None:
        raise NotArchived(f"project {project_id} is not archived: archive it (DELETE) before purging it")
    now = utcnow()
    members = session.scalars(
        select(Interaction).where(Interaction.project_id == row.id).order_by(Interaction.id)
    ).all()
    for interaction in members:
        interaction.project_id = None
        interaction.version += 1
        interaction.updated_at = now
    session.execute(sql_update(TimeEntry).where(TimeEntry.project_id == row.id).values(project_id=None))
    session.execute(delete(ProjectLink).where(ProjectLink.project_id == row.id))
    session.delete(row)
    session.flush()
    live = [interaction for interaction in members if interaction.deleted_at is None]
    for record in interactions_out(session, live):
        uow.emit("interaction_updated", org_id=caller.org_id, actor_id=caller.user_id, record=record)
    uow.emit("project_purged", org_id=caller.org_id, actor_id=caller.user_id, record={"id": project_id})


def list_projects(session: Session, org_id: str, query: ProjectListQuery) -> dict[str, Any]:
    """Newest first, filtered by a linked user, contact or company; ``archived``: the archived
    projects instead of the live ones."""
    archived = Project.deleted_at.is_not(None) if query.archived else Project.deleted_at.is_(None)
    statement = select(Project).where(Project.org_id == org_id, archived)
    filters = (("user", query.user_id), ("contact", query.contact_id), ("company", query.company_id))
    for kind, target in filters:
        if target is not None:
            linked = select(ProjectLink.project_id).where(
                ProjectLink.org_id == org_id, ProjectLink.kind == kind, ProjectLink.target_id == target
            )
            statement = statement.where(Project.id.in_(linked))
    if query.cursor:
        statement = statement.where(Project.id < cursor_row(session, Project, org_id, query.cursor).id)
    rows = session.scalars(statement.order_by(Project.id.desc()).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    return {
        "items": projects_out(session, page),
        "next_cursor": page[-1].id if len(rows) > query.limit else None,
    }


def planning(session: Session, org_id: str, project_id: str, since: date, until: date) -> dict[str, Any]:
    """The project's interactions over the days (UTC, both included), by start."""
    start, end = day_window(since, until)
    project = project_of(session, org_id, project_id)
    rows = session.scalars(
        select(Interaction)
        .where(
            Interaction.org_id == org_id,
            Interaction.project_id == project.id,
            Interaction.deleted_at.is_(None),
            Interaction.start_at < end,
            func.coalesce(Interaction.end_at, Interaction.start_at) >= start,
        )
        .order_by(Interaction.start_at, Interaction.id)
    ).all()
    return {"project": project_out(session, project), "interactions": interactions_out(session, list(rows))}


def _check_dates(start_date: date | None, end_date: date | None) -> None:
    if start_date is not None and end_date is not None and end_date < start_date:
        raise invalid("end_date", "is before start_date")


def _set_links(session: Session, row: Project, kind: str, target_ids: list[str]) -> None:
    session.execute(delete(ProjectLink).where(ProjectLink.project_id == row.id, ProjectLink.kind == kind))
    for target_id in dict.fromkeys(target_ids):
        session.add(ProjectLink(project_id=row.id, kind=kind, target_id=target_id, org_id=row.org_id))


# -- records as callers see them ----------------------------------------------------------------


def projects_out(session: Session, rows: list[Project]) -> list[dict[str, Any]]:
    """Many projects with their users, contacts and companies, in one more query."""
    ids = [row.id for row in rows]
    links: dict[str, dict[str, list[str]]] = {i: {kind: [] for kind in LINK_KINDS} for i in ids}
    if ids:
        # Plain rows, not entities: ``_set_links`` replaces links of the same key in this session.
        query = select(ProjectLink.project_id, ProjectLink.kind, ProjectLink.target_id).where(
            ProjectLink.project_id.in_(ids)
        )
        for project_id, kind, target_id in session.execute(query):
            links[project_id][kind].append(target_id)
    return [_out(row, links[row.id]) for row in rows]


def project_out(session: Session, row: Project) -> dict[str, Any]:
    return projects_out(session, [row])[0]


def _out(row: Project, links: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "start_date": row.start_date.isoformat() if row.start_date else None,
        "end_date": row.end_date.isoformat() if row.end_date else None,
        **{field: sorted(links[kind]) for kind, field in LINK_KINDS.items()},
        "version": row.version,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "deleted_at": iso(row.deleted_at),
    }
