"""What the notifier service consumes, accepts and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm.validation import QueryInput, StrictInput

NotificationKind = Literal["invitation", "added", "accepted", "refused", "removed"]
Limit = Annotated[int, Field(ge=1, le=200)]
# The id of the last notification of the previous page (ids are time-ordered).
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]

# -- events consumed ------------------------------------------------------------


class _Incoming(BaseModel):
    # Producers may add fields to their events; we read the ones we need.
    model_config = ConfigDict(extra="ignore")


class InteractionSummary(_Incoming):
    id: str
    subject: str
    type: str
    status: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    all_day: bool = False
    owner_id: str


class ParticipantSummary(_Incoming):
    user_id: str
    status: str
    invited_by: str | None = None


class ParticipantRecord(_Incoming):
    interaction: InteractionSummary
    participant: ParticipantSummary


class ParticipantEvent(_Incoming):
    """A ``participant_*`` event of the interactions service."""

    event_id: str
    event_type: str
    org_id: str
    occurred_at: datetime
    actor_id: str | None = None
    record: ParticipantRecord


# -- RPC and HTTP input ---------------------------------------------------------


class NotificationQuery(StrictInput):
    unread_only: bool = False
    limit: Limit = 50
    cursor: Cursor | None = None


class NotificationListQuery(QueryInput):
    """``GET /api/v1/notifications``: newest first, a page at a time."""

    unread_only: bool = Field(default=False, description="Only the notifications not read yet")
    limit: Limit = 50
    cursor: Cursor | None = Field(default=None, description="next_cursor of the previous page")


class DeliveryPreferencesUpdate(StrictInput):
    email_copy: bool = Field(description="Also send each notification by e-mail")
    in_app: Literal[True] = Field(default=True, description="Always true: the inbox cannot be turned off")


# -- output ---------------------------------------------------------------------


class NotificationAction(BaseModel):
    name: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    href: str


class NotificationOut(BaseModel):
    id: str
    user_id: str
    kind: NotificationKind
    title: str
    body: str
    link: str | None
    actions: list[NotificationAction]
    interaction_id: str | None
    participant_user_id: str | None
    actor_id: str | None
    source_event_id: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationUnreadCount(BaseModel):
    unread: int


class NotificationsMarkedRead(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read")


class DeliveryPreferencesOut(BaseModel):
    in_app: Literal[True]
    email_copy: bool
