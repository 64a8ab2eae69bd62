"""What the accounts service accepts and returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from crm.validation import AwareDateTime, Id, Money, ShortText, StrictInput, TimeZone, whole_number


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(_lower)]
# Passwords are taken as typed: no trimming, no case folding.
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=200)]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Role = Literal["admin", "member"]
Limit = Annotated[int, Field(ge=1, le=200)]


class LoginRequest(StrictInput):
    # Any text an e-mail field may hold, but no control characters (the database refuses NUL).
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^\x00-\x1f\x7f]*$")]
    password: AnyPassword


class RefreshRequest(StrictInput):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class LogoutRequest(StrictInput):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)] | None = None


class UserCreate(StrictInput):
    id: Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = (
        None
    )
    email: Email
    name: ShortText
    password: NewPassword | None = None
    role: Role = "member"
    read_only: bool = False
    hourly_cost: Money | None = None
    time_zone: TimeZone = "UTC"


class UserUpdate(StrictInput):
    email: Email | None = None
    name: ShortText | None = None
    role: Role | None = None
    read_only: bool | None = None
    hourly_cost: Money | None = None
    time_zone: TimeZone | None = None
    # Set by an admin; signs the user out everywhere.
    password: NewPassword | None = None
    # Optimistic concurrency: if given and stale, the update is a 409.
    version: whole_number(ge=1) | None = None


class ProfileUpdate(StrictInput):
    name: ShortText | None = None
    time_zone: TimeZone | None = None
    current_password: AnyPassword | None = None
    new_password: NewPassword | None = None


class OrgSettings(StrictInput):
    """The organisation's settings document; every key has a default."""

    multi_user_interactions: bool = False
    # A resource (room, vehicle) may then be booked by overlapping interactions.
    allow_double_booking: bool = False


class OrgSettingsUpdate(StrictInput):
    multi_user_interactions: bool | None = None
    allow_double_booking: bool | None = None


# -- a user's remembered preferences ----------------------------------------------------------
# The sort fields are the lists' own (services/contacts/schemas.py); a unit test keeps them equal.

Direction = Literal["asc", "desc"]
TypeKey = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")]


class ContactListPreferences(StrictInput):
    """How ``GET /contacts`` answers when the request names no sort."""

    sort: Literal["last_name", "first_name", "email", "created_at", "updated_at"] | None = None
    direction: Direction | None = None


class CompanyListPreferences(StrictInput):
    sort: Literal["name", "group", "city", "created_at", "updated_at"] | None = None
    direction: Direction | None = None


class InteractionListPreferences(StrictInput):
    """Default filters of ``GET /interactions`` (listed newest first: no other order yet)."""

    user_id: Id | None = None
    type: TypeKey | None = None
    status: TypeKey | None = None


class ProjectListPreferences(StrictInput):
    """Default filter of ``GET /projects`` (listed newest first: no other order yet)."""

    user_id: Id | None = None


class ListPreferences(StrictInput):
    contacts: ContactListPreferences = ContactListPreferences()
    companies: CompanyListPreferences = CompanyListPreferences()
    interactions: InteractionListPreferences = InteractionListPreferences()
    projects: ProjectListPreferences = ProjectListPreferences()


class AgendaPreferences(StrictInput):
    view: Literal["day", "week", "month"] = "week"
    # Whose agendas are shown side by side; none: the user's own.
    user_ids: Annotated[list[Id], Field(max_length=50)] = []


class Preferences(StrictInput):
    """A user's remembered preferences; every key has a default, null means "not chosen"."""

    lists: ListPreferences = ListPreferences()
    agenda: AgendaPreferences = AgendaPreferences()
    language: Literal["fr", "en"] | None = None
    date_format: Literal["DD/MM/YYYY", "YYYY-MM-DD", "MM/DD/YYYY"] | None = None


class ApiTokenCreate(StrictInput):
    name: ShortText
    # AwareDateTime bounds the year, so turning an offset such as -14:00 to UTC cannot overflow.
    expires_at: AwareDateTime | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return value.astimezone(UTC) if value is not None else None


class Bootstrap(StrictInput):
    org_name: ShortText
    email: Email
    name: ShortText
    password: NewPassword
    time_zone: TimeZone = "UTC"


# Outputs: documented for the OpenAPI document; services return plain dicts.


class MoneyOut(BaseModel):
    amount: str
    currency: str


class UserOut(BaseModel):
    id: str
    org_id: str
    email: str
    name: str
    role: Role
    read_only: bool
    hourly_cost: MoneyOut | None = Field(
        default=None, description="Shown to admins and to the user themselves only"
    )
    time_zone: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class CreatedUserOut(UserOut):
    initial_password: str | None = Field(
        default=None, description="Generated when none was given; shown only once"
    )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class TokenPair(BaseModel):
    token_type: Literal["Bearer"]
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserOut


class ApiTokenOut(BaseModel):
    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedApiTokenOut(ApiTokenOut):
    token: str = Field(description="Shown only once; store it safely")


class ApiTokenList(BaseModel):
    items: list[ApiTokenOut]


class UserSecretsOut(BaseModel):
    ingest_address: str
    calendar_feed_token_set: bool


class RotatedSecretOut(BaseModel):
    kind: Literal["ingest_address", "calendar_feed"]
    value: str = Field(description="The new secret; a calendar token is shown only once")
