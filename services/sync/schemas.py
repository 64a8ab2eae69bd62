"""What the sync routes accept and answer (WatermelonDB's sync protocol, docs/sync.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from crm.validation import QueryInput, StrictInput

TableName = Literal[
    "companies",
    "contacts",
    "employments",
    "interactions",
    "participants",
    "projects",
    "notes",
    "documents",
    "interaction_types",
    "users",
    "check_ins",
]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9:_-]+$")]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]
AppVersion = Annotated[str, StringConstraints(max_length=50, pattern=r"^[\x20-\x7e]*$")]
Sequence = Annotated[int, Field(ge=0, le=2**62)]


class Device(StrictInput):
    """The phone, as the ``X-Device-Id`` and ``X-App-Version`` headers name it."""

    device_id: DeviceId
    app_version: AppVersion | None = None


class MigrationColumns(BaseModel):
    table: str
    columns: list[str]


class Migration(BaseModel):
    """WatermelonDB's ``migration`` parameter: what the client's schema gained since ``from``."""

    from_: int = Field(alias="from")
    tables: list[str] = []
    columns: list[MigrationColumns] = []


class PullQuery(QueryInput):
    last_pulled_at: Sequence | None = Field(
        default=None, description="The `timestamp` of the last pull; absent, empty or null: a first pull"
    )
    schema_version: Annotated[int, Field(ge=1, le=10_000)] | None = None
    migration: Annotated[str, StringConstraints(max_length=8_000)] | None = Field(
        default=None, description="JSON of WatermelonDB's `{from, tables, columns}`; absent or null: none"
    )

    @field_validator("last_pulled_at", "schema_version", "migration", mode="before")
    @classmethod
    def _null_is_absent(cls, value: Any) -> Any:
        return None if value in ("", "null", "undefined") else value

    @field_validator("migration")
    @classmethod
    def _migration_json(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Migration.model_validate_json(value)
            except ValueError:
                raise ValueError("must be the JSON of WatermelonDB's {from, tables, columns}") from None
        return value

    def migration_asked(self) -> Migration | None:
        return None if self.migration is None else Migration.model_validate_json(self.migration)


class PushQuery(QueryInput):
    last_pulled_at: Sequence | None = Field(
        default=None, description="As in the body (WatermelonDB's example sends it here); the body wins"
    )

    @field_validator("last_pulled_at", mode="before")
    @classmethod
    def _null_is_absent(cls, value: Any) -> Any:
        return None if value in ("", "null", "undefined") else value


class RawRecord(BaseModel):
    """A WatermelonDB raw record: its ``id`` and the table's columns (docs/sync.md)."""

    model_config = ConfigDict(extra="allow")

    id: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class TableChanges(BaseModel):
    created: list[RawRecord] = []
    updated: list[RawRecord] = []
    deleted: list[RecordId] = []


class PushBody(BaseModel):
    changes: dict[TableName, TableChanges]
    last_pulled_at: Annotated[int, Field(ge=0, le=2**62, strict=True)] | None = None

    @property
    def count(self) -> int:
        return sum(len(t.created) + len(t.updated) + len(t.deleted) for t in self.changes.values())

    def as_plain(self) -> dict[str, dict[str, list[Any]]]:
        return {table: changes.model_dump() for table, changes in self.changes.items()}


# -- answers -------------------------------------------------------------------------------------


class TableChangesOut(BaseModel):
    created: list[dict[str, Any]]
    updated: list[dict[str, Any]]
    deleted: list[str]


class PullOut(BaseModel):
    changes: dict[str, TableChangesOut] = Field(description="Per table; tables with no change are left out")
    timestamp: int = Field(description="Our change sequence: send it back as `last_pulled_at`")


class AlertOut(BaseModel):
    id: str
    device_id: str
    table: str
    record_id: str
    operation: Literal["created", "updated", "deleted"]
    reason: Literal["read_only", "forbidden", "not_found", "invalid", "conflict", "unsupported"]
    message: str
    created_at: datetime
    read_at: datetime | None


class AlertList(BaseModel):
    alerts: list[AlertOut]


class PushOut(BaseModel):
    applied: int = Field(description="Changes applied now or by an earlier push of the same changes")
    rejected: dict[str, list[str]] = Field(description="Per table, the ids of records refused (see `alerts`)")
    alerts: list[AlertOut]


class DeviceOut(BaseModel):
    device_id: str
    user_id: str
    app_version: str | None
    first_seen_at: datetime
    last_pull_at: datetime | None
    last_pulled_seq: int | None
    last_push_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    pulls: int
    pushes: int


class DeviceList(BaseModel):
    devices: list[DeviceOut]


class AlertQuery(QueryInput):
    unread: bool = False
    limit: Annotated[int, Field(ge=1, le=200)] = 50


# -- the CardDAV address book (services/sync/address_book.py) -------------------------------------

CardId = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9-]+$")]
# A vCard property or parameter name (RFC 6350: iana-token or x-name), as a filter names it.
CardName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]
MAX_CARDS_PER_CALL = 500


class TextMatch(StrictInput):
    """CardDAV's ``text-match`` (RFC 6352, 10.5.4)."""

    text: Annotated[str, StringConstraints(max_length=1000)]
    match_type: Literal["equals", "contains", "starts-with", "ends-with"] = "contains"
    collation: Literal["i;unicode-casemap", "i;ascii-casemap", "i;octet"] = "i;unicode-casemap"
    negate: bool = False


class ParamFilter(StrictInput):
    """``param-filter``: the parameter is absent (``defined`` false), present, or matches."""

    name: CardName
    defined: bool = True
    text_match: TextMatch | None = None


class PropFilter(StrictInput):
    """``prop-filter``: the property is absent (``defined`` false), present, or its value and
    parameters match, all of them (``allof``) or any (``anyof``)."""

    name: CardName
    test: Literal["anyof", "allof"] = "anyof"
    defined: bool = True
    text_matches: Annotated[list[TextMatch], Field(max_length=20)] = []
    param_filters: Annotated[list[ParamFilter], Field(max_length=20)] = []


class CardQuery(StrictInput):
    """``addressbook-query``'s filter: no prop filter matches every card."""

    test: Literal["anyof", "allof"] = "anyof"
    props: Annotated[list[PropFilter], Field(max_length=50)] = []


class AddressCardsRequest(StrictInput):
    ids: Annotated[list[CardId], Field(max_length=MAX_CARDS_PER_CALL)]
    version: Literal["3.0", "4.0"] = "3.0"
    query: CardQuery | None = None


class AddressBookChangesRequest(StrictInput):
    since: Sequence | None = None
