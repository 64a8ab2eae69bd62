"""What the interactions service accepts and returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from crm.validation import (
    AwareDateTime,
    DayOrDateTime,
    Id,
    Money,
    QueryDateTime,
    QueryInput,
    StrictInput,
    blankable,
    whole_number,
)

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Key = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")]
Subject = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROL)
]
LongText = Annotated[
    str, StringConstraints(max_length=20_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
Ids = Annotated[list[Id], Field(max_length=100)]


class InteractionCreate(StrictInput):
    # A caller (a phone offline) may choose the id; the same id with the same content is a replay.
    id: Id | None = None
    subject: Subject
    type: Key
    status: Key | None = None
    start_at: AwareDateTime
    end_at: AwareDateTime | None = None
    all_day: bool = False
    budget: Money | None = None
    owner_id: Id | None = None
    project_id: Id | None = None
    description: blankable(LongText) = None
    contact_ids: Ids = Field(default_factory=list)
    company_ids: Ids = Field(default_factory=list)


class InteractionUpdate(StrictInput):
    version: whole_number(ge=1) | None = None
    subject: Subject | None = None
    type: Key | None = None
    status: Key | None = None
    start_at: AwareDateTime | None = None
    end_at: AwareDateTime | None = None
    all_day: bool | None = None
    budget: Money | None = None
    owner_id: Id | None = None
    project_id: Id | None = None
    description: blankable(LongText) = None
    contact_ids: Ids | None = None
    company_ids: Ids | None = None

    @field_validator("subject", "type", "status", "start_at", "all_day", "owner_id")
    @classmethod
    def _not_emptied(cls, value: Any) -> Any:
        # Left out, a field keeps its value; null would empty one an interaction cannot be without.
        if value is None:
            raise ValueError("cannot be emptied; leave the field out to keep its value")
        return value


class ParticipantAdd(StrictInput):
    user_id: Id
    status: Literal["invited", "confirmed"] = "invited"


class AgendaQuery(QueryInput):
    # Comma-separated user ids; the caller's own agenda when absent.
    user_ids: Annotated[str, StringConstraints(max_length=2000, pattern=r"^[A-Za-z0-9,-]*$")] | None = None
    # Days in UTC, both included, or date-times with their offsets (until excluded).
    since: DayOrDateTime
    until: DayOrDateTime


class InteractionListQuery(QueryInput):
    user_id: Id | None = None
    type: Key | None = None
    status: Key | None = None
    project_id: Id | None = None
    contact_id: Id | None = None
    company_id: Id | None = None
    # For integrators who poll: only those changed (or created) at or after this instant.
    updated_since: QueryDateTime | None = None
    # true: the archived interactions (deleted, not purged) instead of the live ones. Left out
    # (null) unless asked, so a list's call names it only then.
    archived: bool | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = None


class PipelineQuery(QueryInput):
    # Comma-separated status and type keys; every open sales opportunity by default.
    types: Annotated[str, StringConstraints(max_length=500, pattern=r"^[a-z0-9_,]*$")] | None = None
    statuses: Annotated[str, StringConstraints(max_length=500, pattern=r"^[a-z0-9_,]*$")] | None = None


class TypeUpdate(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    statuses: Annotated[list[StatusIn], Field(min_length=1, max_length=50)]
    invoice: Literal["purchase", "sales"] | None = None
    # A check-in on an interaction of this type must be within this many metres of the client.
    checkin_radius_m: whole_number(ge=1, le=100_000) | None = Field(
        default=None, description="Metres from the client within which a check-in is allowed; null: anywhere"
    )


class StatusIn(StrictInput):
    key: Key
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    closed: bool = False


TypeUpdate.model_rebuild()
