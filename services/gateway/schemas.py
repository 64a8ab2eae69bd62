"""Shapes the gateway adds at the edge: query strings and health answers."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field, StringConstraints

from crm.validation import QueryDateTime, QueryInput
from services.contacts.schemas import CompanyPage, ContactPage, NearPoint, WithinMetres
from services.interactions.resource_schemas import ProjectListQuery, ProjectPage
from services.interactions.schemas import InteractionListQuery


class UserListQuery(QueryInput):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    # Cursors are opaque; ours all start with the same prefix.
    cursor: (
        Annotated[str, StringConstraints(max_length=200, pattern=r"^dXNlcnM6[A-Za-z0-9_-]{2,}$")] | None
    ) = None
    include_inactive: bool = False


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    services: dict[str, str]


class AccessToken(BaseModel):
    token_type: Literal["Bearer"]
    access_token: str
    expires_in: int


_Sort = TypeVar("_Sort")
# A list without sort answers in the caller's remembered order (GET /me/preferences), else its own.
SortField = Annotated[
    _Sort | None,
    Field(description="Default: your remembered sort (GET /me/preferences), else the list's own"),
]
SortDirection = Annotated[
    Literal["asc", "desc"] | None,
    Field(description="Default: the remembered direction with a remembered sort, else asc"),
]
UsePreferences = Annotated[
    bool,
    Field(description="false: ignore your remembered sort and filters (GET /me/preferences)"),
]


class ContactListQuery(QueryInput):
    q: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    sort: SortField[Literal["last_name", "first_name", "email", "created_at", "updated_at"]] = None
    direction: SortDirection = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    # For integrators who poll: only those changed (or created) at or after this instant.
    updated_since: QueryDateTime | None = None
    # "lat,lon": those with a position, nearest first with their distance_m, instead of sort.
    near: NearPoint | None = None
    # Only with near: those at most this many metres away.
    within_m: WithinMetres | None = None
    # true: the archived records (deleted, not purged) instead of the live ones. Left out
    # (null) unless asked, so a list's call names it only then.
    archived: bool | None = None
    use_preferences: UsePreferences = True


class CompanyListQuery(QueryInput):
    q: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    sort: SortField[Literal["name", "group", "city", "created_at", "updated_at"]] = None
    direction: SortDirection = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    # For integrators who poll: only those changed (or created) at or after this instant.
    updated_since: QueryDateTime | None = None
    # "lat,lon": those with a position, nearest first with their distance_m, instead of sort.
    near: NearPoint | None = None
    # Only with near: those at most this many metres away.
    within_m: WithinMetres | None = None
    # true: the archived records (deleted, not purged) instead of the live ones. Left out
    # (null) unless asked, so a list's call names it only then.
    archived: bool | None = None
    use_preferences: UsePreferences = True


class InteractionListRequest(InteractionListQuery):
    """Without any filter, the caller's remembered filters apply (GET /me/preferences)."""

    use_preferences: UsePreferences = True


class ProjectListRequest(ProjectListQuery):
    """Without any filter, the caller's remembered filter applies (GET /me/preferences)."""

    use_preferences: UsePreferences = True


class SortUsed(BaseModel):
    field: str
    direction: Literal["asc", "desc"]
    source: Literal["request", "preferences", "default"] = Field(
        description="Where the sort field came from: the request, your preferences, the list's default"
    )


class RememberedListPage(BaseModel):
    """What a list page adds to its items: the sort it used and the remembered filters it applied."""

    sort: SortUsed
    remembered_filters: dict[str, str]


class ContactListPage(ContactPage, RememberedListPage):
    pass


class CompanyListPage(CompanyPage, RememberedListPage):
    pass


class ProjectListPage(ProjectPage, RememberedListPage):
    pass


class InterestMatchQuery(QueryInput):
    # Comma-separated interest ids: ?interests=<id>,<id>
    interests: Annotated[
        str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$")
    ]
    match: Literal["all", "any"] = "all"
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None

    @property
    def interest_ids(self) -> list[str]:
        return self.interests.split(",")


class VCardQuery(QueryInput):
    version: Literal["3.0", "4.0"] = "3.0"


class ContactVCardExportQuery(VCardQuery):
    """The same filters and order as the contact search; every page of it."""

    q: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    sort: Literal["last_name", "first_name", "email", "created_at", "updated_at"] = "last_name"
    direction: Literal["asc", "desc"] = "asc"


class VCardImportQuery(QueryInput):
    dry_run: bool = False


class ContactCsvExportQuery(QueryInput):
    """The same filters and order as the contact search, every page of it; headers in French or English."""

    q: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    sort: Literal["last_name", "first_name", "email", "created_at", "updated_at"] = "last_name"
    direction: Literal["asc", "desc"] = "asc"
    language: Literal["fr", "en"] = "fr"


class ImportPageQuery(QueryInput):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None


class CreditsQuery(QueryInput):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    # Ledger cursors are entry ids.
    cursor: Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = None


class AuthorizationCodeQuery(QueryInput):
    user_id: Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = None


class WebhookAnswer(BaseModel):
    received: int
    stored: int
    duplicates: int


class TwilioStatusQuery(QueryInput):
    # Our SMS's id, which the status callback URL we gave Twilio carries.
    message_id: Annotated[str, StringConstraints(max_length=100)] | None = None
