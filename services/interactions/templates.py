"""Templates: shortcuts that admins define and anyone runs to create an interaction.

A template is a subject with tags, and defaults for the interaction it creates:
type, status (the type's first when not set), budget, duration in minutes (the
end is the start plus it) and all-day. Running one fills the tags, moves the
template's counter on and creates the interaction with ``interactions.create``.

Tags in the subject:

- ``{year}``, ``{month}``, ``{day}``: the date when the template is run, in the
  running user's time zone (``2026``, ``12``, ``01``; month and day on two digits);
- ``{company_id}``, ``{company_name}``: the company given to the run;
- ``{contact_name}``: first and last name of the contact given to the run;
- ``{user_name}``: the name of the user who runs the template;
- ``{counter}``: the template's own counter, one more at each run (``1``, ``2``...);
  ``{counter:04}`` pads it with zeros to four digits (``0042``), any width from 1 to 99;
- ``{{`` and ``}}`` are a literal brace.

A tag whose value was not given (no company, no contact) becomes empty and the
spaces around it close up. An unknown tag or a lone brace is refused when the
template is saved, never when it runs.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta
from string import Formatter
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import UnitOfWork
from crm.errors import invalid
from crm.ids import new_id
from crm.records import has_values, record_of, replayed
from crm.times import iso, utcnow
from crm.validation import money_out, validate
from services.interactions import catalogue, interactions
from services.interactions.exceptions import TemplateNotFound
from services.interactions.models import Template
from services.interactions.schemas import InteractionCreate
from services.interactions.template_schemas import TemplateCreate, TemplateRun, TemplateUpdate

TAGS = ("year", "month", "day", "company_id", "company_name", "contact_name", "user_name", "counter")
_COUNTER_WIDTH = re.compile(r"0[1-9][0-9]?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SUBJECT_MAX = 500


# -- tags -----------------------------------------------------------------------------------------


def check_subject(subject: str) -> str:
    """``subject`` if every tag in it is known; otherwise ``InvalidInput`` on ``subject`` naming the tag."""
    try:
        pieces = list(Formatter().parse(subject))
    except ValueError:
        raise invalid(
            "subject", "a lone { or }: write a tag as {year} and a literal brace as {{ or }}"
        ) from None
    for _literal, tag, spec, conversion in pieces:
        if tag is None:
            continue
        typed = "{" + tag + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if tag not in TAGS or conversion:
            known = ", ".join("{" + name + "}" for name in TAGS)
            raise invalid("subject", f"unknown tag {typed}; the tags are {known}")
        if spec and not (tag == "counter" and _COUNTER_WIDTH.fullmatch(spec)):
            raise invalid("subject", f"tag {typed}: only {{counter}} takes a width, as {{counter:04}}")
    return subject


def tags_in(subject: str) -> set[str]:
    try:
        return {tag for _literal, tag, _spec, _conversion in Formatter().parse(subject) if tag}
    except ValueError:
        return set()


def render(subject: str, values: dict[str, Any]) -> str:
    """The subject with its tags filled; never fails (a subject saved under older rules shows as typed)."""
    try:
        pieces = list(Formatter().parse(subject))
    except ValueError:
        return subject
    parts = []
    for literal, tag, spec, conversion in pieces:
        parts.append(literal)
        if tag is None:
            continue
        if tag not in values or conversion or (spec and tag != "counter"):
            parts.append("{" + tag + (f":{spec}" if spec else "") + "}")
        elif tag == "counter" and spec and _COUNTER_WIDTH.fullmatch(spec):
            parts.append(format(values[tag], spec))
        else:
            parts.append(str(values[tag]))
    text = " ".join(_CONTROL.sub(" ", "".join(parts)).split())
    return text[:_SUBJECT_MAX].rstrip()


def tag_values(
    moment: datetime,
    time_zone: str | None,
    counter: int,
    user_name: str,
    company: dict[str, Any] | None,
    contact: dict[str, Any] | None,
) -> dict[str, Any]:
    """What each tag stands for at ``moment`` (UTC), dated in ``time_zone`` (UTC if unknown)."""
    local = moment.astimezone(_zone(time_zone))
    contact_name = " ".join(
        part for part in ((contact or {}).get("first_name"), (contact or {}).get("last_name")) if part
    )
    return {
        "year": f"{local.year:04d}",
        "month": f"{local.month:02d}",
        "day": f"{local.day:02d}",
        "company_id": (company or {}).get("id") or "",
        "company_name": (company or {}).get("name") or "",
        "contact_name": contact_name,
        "user_name": user_name,
        "counter": counter,
    }


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# -- templates ------------------------------------------------------------------------------------


def template_of(session: Session, org_id: str, template_id: str) -> Template:
    return record_of(session, Template, org_id, template_id, TemplateNotFound, "template")


def template_out(row: Template) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "subject": row.subject,
        "type": row.type_key,
        "status": row.status_key,
        "budget": money_out(row.budget_amount, row.budget_currency),
        "duration_minutes": row.duration_minutes,
        "all_day": row.all_day,
        "counter": row.counter,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def list_templates(session: Session, org_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Template).where(Template.org_id == org_id).order_by(Template.name, Template.id)
    ).all()
    return [template_out(row) for row in rows]


def _check_type(session: Session, org_id: str, type_key: str, status_key: str | None) -> str | None:
    kind = catalogue.type_of(session, org_id, type_key)
    return catalogue.check_status(kind, status_key) if status_key is not None else None


def create_template(uow: UnitOfWork, caller: Caller, request: TemplateCreate) -> tuple[dict[str, Any], bool]:
    """A new template; an existing id with the same content is a replay (``False``)."""
    session = uow.session
    check_subject(request.subject)
    status = _check_type(session, caller.org_id, request.type, request.status)
    fields = {
        "name": request.name,
        "subject": request.subject,
        "type_key": request.type,
        "status_key": status,
        "budget_amount": request.budget.amount if request.budget else None,
        "budget_currency": request.budget.currency if request.budget else None,
        "duration_minutes": request.duration_minutes,
        "all_day": request.all_day,
    }
    existing = replayed(session, Template, request.id, caller.org_id, lambda row: has_values(row, fields))
    if existing is not None:
        return template_out(existing), False
    now = utcnow()
    row = Template(
        id=request.id or new_id(),
        org_id=caller.org_id,
        counter=0,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(row)
    session.flush()
    return template_out(row), True


_NOT_NULL = ("name", "subject", "type", "all_day", "counter")


def update_template(
    uow: UnitOfWork, caller: Caller, template_id: str, request: TemplateUpdate
) -> dict[str, Any]:
    """Change the fields given; a new type without a status falls back to the type's first."""
    session = uow.session
    row = template_of(session, caller.org_id, template_id)
    changes = request.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in changes and changes[name] is None:
            raise invalid(name, "cannot be null")
    if "subject" in changes:
        row.subject = check_subject(request.subject)
    if "type" in changes or "status" in changes:
        type_key = changes.get("type") or row.type_key
        status = changes["status"] if "status" in changes else row.status_key
        if "status" not in changes and type_key != row.type_key:
            status = None  # the old type's status means nothing to the new type
        row.status_key = _check_type(session, caller.org_id, type_key, status)
        row.type_key = type_key
    if "name" in changes:
        row.name = request.name
    if "budget" in changes:
        row.budget_amount = request.budget.amount if request.budget else None
        row.budget_currency = request.budget.currency if request.budget else None
    if "duration_minutes" in changes:
        row.duration_minutes = request.duration_minutes
    if "all_day" in changes:
        row.all_day = request.all_day
    if "counter" in changes:
        row.counter = request.counter
    row.updated_at = utcnow()
    session.flush()
    return template_out(row)


def delete_template(uow: UnitOfWork, caller: Caller, template_id: str) -> None:
    """Interactions created from the template stay as they are."""
    template_of(uow.session, caller.org_id, template_id)
    uow.session.execute(delete(Template).where(Template.id == template_id))


def next_counter(session: Session, org_id: str, template_id: str) -> int:
    """Move the template's counter on by one, atomically (the row stays locked until commit)."""
    counter = session.execute(
        update(Template)
        .where(Template.id == template_id, Template.org_id == org_id)
        .values(counter=Template.counter + 1)
        .returning(Template.counter)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if counter is None:
        raise TemplateNotFound(f"no template {template_id}")
    return counter


def run(
    uow: UnitOfWork,
    caller: Caller,
    template_id: str,
    request: TemplateRun,
    user: dict[str, Any],
    company: dict[str, Any] | None,
    contact: dict[str, Any] | None,
) -> dict[str, Any]:
    """Create the template's interaction. ``user`` (the caller as accounts has them), ``company``
    and ``contact`` come from the services that own them, already checked."""
    session = uow.session
    counter = next_counter(session, caller.org_id, template_id)
    template = template_of(session, caller.org_id, template_id)
    now = utcnow()
    values = tag_values(now, user.get("time_zone"), counter, user.get("name") or "", company, contact)
    start = request.start_at or now
    end = start + timedelta(minutes=template.duration_minutes) if template.duration_minutes else None
    data = {
        "subject": render(template.subject, values) or template.name,
        "type": template.type_key,
        "status": template.status_key,
        "start_at": start.isoformat(),
        "end_at": end.isoformat() if end else None,
        "all_day": template.all_day,
        "budget": money_out(template.budget_amount, template.budget_currency),
        "owner_id": request.owner_id,
        "project_id": request.project_id,
        "description": request.description,
        "contact_ids": [request.contact_id] if request.contact_id else [],
        "company_ids": [request.company_id] if request.company_id else [],
    }
    record, _created = interactions.create(uow, caller, validate(InteractionCreate, data))
    return {**record, "template_id": template.id, "counter": counter}
