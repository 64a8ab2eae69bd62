"""What the Google sync's routes take and answer (the gateway validates with these, and the
OpenAPI document is made from them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from crm.validation import QueryInput, StrictInput

Text = Annotated[str, StringConstraints(max_length=2000)]


class GoogleConnect(StrictInput):
    # Which Google account to offer first on the consent screen (Google's login_hint).
    login_hint: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None


class GoogleConnectOut(BaseModel):
    authorization_url: str = Field(description="Send the user's browser here: Google's consent screen")
    state_expires_at: str = Field(description="The authorization must come back before this")


class GoogleCallbackQuery(QueryInput):
    """What Google puts on the redirect (the values it may add beside code and state are taken too)."""

    state: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    error: Annotated[str, StringConstraints(max_length=200)] | None = None
    scope: Text | None = None
    authuser: Annotated[str, StringConstraints(max_length=20)] | None = None
    prompt: Annotated[str, StringConstraints(max_length=50)] | None = None
    hd: Annotated[str, StringConstraints(max_length=200)] | None = None
    iss: Annotated[str, StringConstraints(max_length=200)] | None = None


class Progress(BaseModel):
    done: int
    total: int


class GoogleRunCounts(BaseModel):
    created_in_crm: int
    updated_in_crm: int
    created_in_google: int
    updated_in_google: int
    linked: int
    conflicts: int
    skipped: int


class GoogleRunOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    trigger: Literal["connect", "manual", "schedule"]
    phase: Literal["from_google", "to_google", "done"]
    from_google: Progress = Field(description="Google's changed people read so far, of those listed")
    to_google: Progress = Field(description="CRM contacts looked at so far, of those changed")
    counts: GoogleRunCounts
    full_listing: bool = Field(
        description="Everything in Google was listed (first run, or sync token expired)"
    )
    error_code: str | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class GoogleRunStarted(GoogleRunOut):
    created: bool = Field(description="false: a run was already queued or running, and is answered")


class GoogleConnectionOut(BaseModel):
    status: Literal["authorizing", "connected"]
    group_name: str
    connected_at: str | None
    last_success_at: str | None
    last_error_code: str | None = Field(
        description="google_access_revoked, crm_access_revoked, crm_access_refused, google_unavailable, "
        "people_api_error, crm_unavailable, secret_unreadable, sync_failed"
    )
    last_error: str | None
    last_error_at: str | None
    next_run_at: str | None
    has_links: bool
    latest_run: GoogleRunOut | None


class GoogleCallbackOut(BaseModel):
    status: Literal["connected", "refused"]
    reason: str | None = None
    run: GoogleRunOut | None = None


class GoogleRunList(BaseModel):
    items: list[GoogleRunOut]


class GoogleRunListQuery(QueryInput):
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class GoogleLogQuery(QueryInput):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[0-9]+$")] | None = None


class GoogleLogEntry(BaseModel):
    id: int
    contact_id: str | None
    resource_name: str | None
    direction: Literal["to_crm", "to_google"]
    action: Literal["created", "updated", "linked", "unlinked", "conflict", "skipped"]
    detail: str
    at: str


class GoogleLogPage(BaseModel):
    items: list[GoogleLogEntry]
    next_cursor: str | None
