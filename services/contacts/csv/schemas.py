"""What CSV imports and exports accept and return.

The file travels as base64 in JSON. Between the gateway and this service it is
compressed (``compression: "zlib"``) so that a file of ``contacts.import_max_bytes``
stays well below the broker's message size limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from crm.validation import StrictInput
from services.contacts.csv.format import ENCODINGS
from services.contacts.csv.headers import FIELDS
from services.contacts.schemas import ContactSort, Cursor, Direction, Id, Limit, SearchText

ImportField = Literal[FIELDS]
ImportStatus = Literal["queued", "running", "done", "failed"]
Language = Literal["fr", "en"]
ExportLayout = Literal["crm", "google", "outlook"]

FileName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
]
Header = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Base64 = Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9+/=\r\n]+$")]


class ImportOptions(StrictInput):
    dry_run: bool = Field(default=False, description="Check every row and report; write nothing")
    mapping: Annotated[dict[Header, ImportField | None], Field(max_length=100)] | None = Field(
        default=None,
        description="Header as in the file -> field it feeds (null: ignore the column); "
        "wins over the French and English headers recognised by default",
    )
    encoding: Literal[ENCODINGS] | None = Field(default=None, description="Detected when not given")
    delimiter: Literal[";", ",", "\t"] | None = Field(default=None, description="Detected when not given")


class ImportRequest(ImportOptions):
    """``POST /api/v1/imports``: the CSV file, base64-encoded, and how to read it."""

    id: Id | None = None
    file_name: FileName
    content_base64: Base64 = Field(description="The CSV file's bytes, base64-encoded")


class ImportStart(ImportRequest):
    """What ``start_import`` takes: the request, the content possibly compressed."""

    compression: Literal["zlib"] | None = None


class ImportPageQuery(StrictInput):
    limit: Limit = 50
    cursor: Cursor | None = None


class ContactExport(StrictInput):
    q: SearchText | None = None
    sort: ContactSort = "last_name"
    direction: Direction = "asc"
    language: Language = "fr"
    layout: ExportLayout = "crm"
    delimiter: Literal[";", ",", "\t"] | None = Field(
        default=None, description="`;` for the CRM's layout, `,` for Google's and Outlook's when not given"
    )
    cursor: Cursor | None = None


# Outputs: documented for the OpenAPI document; the service returns plain dicts.


class ImportColumnOut(BaseModel):
    column: str = Field(description="The header as written in the file")
    field: str | None = Field(description="The field it feeds; null when ignored")


class ImportJobOut(BaseModel):
    id: str
    org_id: str
    created_by: str
    file_name: str
    status: ImportStatus
    dry_run: bool
    encoding: str
    delimiter: str
    preset: Literal["google", "google_legacy", "outlook", "linkedin"] | None = Field(
        description="The layout recognised from the header, which says what each column feeds; "
        "null for other files"
    )
    columns: list[ImportColumnOut] = Field(description="Every column, with the field it feeds or null")
    total_rows: int | None = Field(
        description="Rows of the file, header and blank rows aside; null until counted"
    )
    rows_done: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_failed: int = Field(description="Rows refused; each reason is in the error report")
    companies_created: int
    interests_created: int
    error: str | None = Field(description="Why the whole job failed, if it did")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportJobPage(BaseModel):
    items: list[ImportJobOut]
    next_cursor: str | None


class ImportRowErrorOut(BaseModel):
    row: int = Field(description="Spreadsheet row: the header is row 1")
    line: int = Field(description="Line of the file where the row starts")
    column: str | None = Field(description="The header as written in the file; null for the whole row")
    field: str | None
    value: str | None = Field(description="The refused value, cut to 200 characters")
    reason: str


class ImportRowErrorPage(BaseModel):
    items: list[ImportRowErrorOut]
    next_cursor: str | None


class CsvPage(BaseModel):
    """A slice of a CSV document; the first slice starts with the header line."""

    csv: str
    next_cursor: str | None
