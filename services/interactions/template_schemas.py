"""What templates accept: their fields, their changes, and a run that makes an interaction."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from crm.validation import AwareDateTime, Id, Money, StrictInput, blankable, whole_number
from services.interactions.schemas import NO_CONTROL, Key, LongText

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_CONTROL)
]
# Tags are checked when the template is saved (``templates.check_subject``).
TemplateSubject = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROL)
]
Minutes = whole_number(ge=1, le=60 * 24 * 366)


class TemplateCreate(StrictInput):
    id: Id | None = None
    name: Name
    subject: TemplateSubject = Field(
        description="Text with tags: {year} {month} {day} {company_id} {company_name} {contact_name} "
        "{user_name} {counter} (or {counter:04}, zero-padded); {{ and }} are literal braces"
    )
    type: Key
    status: Key | None = Field(default=None, description="The type's first status when not given")
    budget: Money | None = None
    duration_minutes: Minutes | None = Field(default=None, description="The end is the start plus this")
    all_day: bool = False


class TemplateUpdate(StrictInput):
    name: Name | None = None
    subject: TemplateSubject | None = None
    type: Key | None = None
    status: Key | None = None
    budget: Money | None = None
    duration_minutes: Minutes | None = None
    all_day: bool | None = None
    counter: whole_number(ge=0, le=2_000_000_000) | None = Field(
        default=None, description="Restart the numbering: the next run uses counter + 1"
    )


class TemplateRun(StrictInput):
    start_at: AwareDateTime | None = Field(default=None, description="Now when not given")
    company_id: Id | None = None
    contact_id: Id | None = None
    owner_id: Id | None = None
    project_id: Id | None = None
    description: blankable(LongText) = None
