"""What the interactions service accepts and returns about resources, bookings and projects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from crm.validation import Day, DayOrDateTime, Id, QueryInput, ShortText, StrictInput, blankable
from services.interactions.schemas import Ids, LongText

ResourceKind = Literal["room", "vehicle", "hotel_room", "other"]
Limit = Annotated[int, Field(ge=1, le=200)]
Cursor = Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]


# -- resources ------------------------------------------------------------------------------


class ResourceCreate(StrictInput):
    # A caller may choose the id; the same id with the same content is a replay.
    id: Id | None = None
    name: ShortText
    kind: ResourceKind
    description: blankable(LongText) = None
    active: bool = True


class ResourceUpdate(StrictInput):
    name: ShortText | None = None
    kind: ResourceKind | None = None
    description: blankable(LongText) = None
    active: bool | None = None


class ResourceListQuery(QueryInput):
    kind: ResourceKind | None = None
    active: bool | None = None
    limit: Limit = 50
    cursor: Cursor | None = None


class PlanningQuery(QueryInput):
    # Days in UTC, both included, or date-times with their offsets (until excluded).
    since: DayOrDateTime
    until: DayOrDateTime


class ResourceOut(BaseModel):
    id: str
    name: str
    kind: ResourceKind
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ResourcePage(BaseModel):
    """Resources by name."""

    items: list[ResourceOut]
    next_cursor: str | None


class BookingOut(BaseModel):
    resource_id: str
    interaction_id: str
    # The interaction's span: all-day ones take their whole days, open-ended ones an hour.
    start_at: datetime
    end_at: datetime
    booked_by: str
    created_at: datetime


class InteractionSummaryOut(BaseModel):
    id: str
    subject: str
    type: str
    status: str
    start_at: datetime
    end_at: datetime | None
    all_day: bool
    owner_id: str


class PlannedBookingOut(BookingOut):
    interaction: InteractionSummaryOut


class ResourcePlanningOut(BaseModel):
    resource: ResourceOut
    bookings: list[PlannedBookingOut]


# -- projects -------------------------------------------------------------------------------


class ProjectCreate(StrictInput):
    id: Id | None = None
    name: ShortText
    description: blankable(LongText) = None
    start_date: Day | None = None
    end_date: Day | None = None
    user_ids: Ids = Field(default_factory=list)
    contact_ids: Ids = Field(default_factory=list)
    company_ids: Ids = Field(default_factory=list)


class ProjectUpdate(StrictInput):
    """The fields given change; a list given replaces the project's list."""

    name: ShortText | None = None
    description: blankable(LongText) = None
    start_date: Day | None = None
    end_date: Day | None = None
    user_ids: Ids | None = None
    contact_ids: Ids | None = None
    company_ids: Ids | None = None


class ProjectListQuery(QueryInput):
    user_id: Id | None = None
    contact_id: Id | None = None
    company_id: Id | None = None
    # true: the archived projects (deleted, not purged) instead of the live ones. Left out
    # (null) unless asked, so a list's call names it only then.
    archived: bool | None = None
    limit: Limit = 50
    cursor: Cursor | None = None


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str | None
    start_date: date | None
    end_date: date | None
    user_ids: list[str]
    contact_ids: list[str]
    company_ids: list[str]
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    # Set while the project is archived.
    deleted_at: datetime | None


class ProjectPage(BaseModel):
    """Projects, newest first."""

    items: list[ProjectOut]
    next_cursor: str | None


class ProjectPlanningOut(BaseModel):
    project: ProjectOut
    # Interactions as ``GET /api/v1/interactions/{interaction_id}`` returns them.
    interactions: list[dict[str, Any]]
