"""What templates, timers, notes and documents accept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, WithJsonSchema

from crm.validation import AwareDateTime, Id, Money, QueryInput, StrictInput, blankable, whole_number
from services.interactions.schemas import Key, LongText


def document_max_bytes(settings: Any) -> int:
    """The largest document an upload may carry, in bytes (``interactions.document_max_bytes``)."""
    return settings.interactions.document_max_bytes


_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL)
]
# Tags are checked when the template is saved (``templates.check_subject``).
TemplateSubject = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_NO_CONTROL)
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


class TimeTotalsQuery(QueryInput):
    """One of the three."""

    interaction_id: Id | None = None
    project_id: Id | None = None
    user_id: Id | None = None


class DocumentListQuery(QueryInput):
    """One of contact_id or company_id: the documents of the interactions linked to it."""

    contact_id: Id | None = None
    company_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = None


NoteText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=20_000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
    ),
]


class NoteAppend(StrictInput):
    # A phone offline chooses the id; the same id with the same text is a replay.
    id: Id | None = None
    text: NoteText


DocumentName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
]
DocumentType = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_NO_CONTROL)
]
ContentType = Annotated[
    str,
    StringConstraints(
        to_lower=True, max_length=100, pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$"
    ),
]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=\r\n]*$")]
WebAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")
]


class DocumentUpload(StrictInput):
    """What ``upload_document`` takes: the file's bytes travel base64-encoded (RPC carries JSON only)."""

    id: Id | None = None
    name: DocumentName
    document_type: DocumentType
    content_type: ContentType = "application/octet-stream"
    content_base64: Base64


class DocumentLink(StrictInput):
    id: Id | None = None
    name: DocumentName
    document_type: DocumentType
    url: WebAddress = Field(description="http or https")


Binary = Annotated[
    bytes,
    WithJsonSchema({"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}),
]


class DocumentUploadForm(BaseModel):
    """``multipart/form-data`` of a document upload (described here; the gateway reads the parts)."""

    file: Binary = Field(description="The document; its part's Content-Type is kept as the content type")
    # A form field is never null: absent or empty, the file's own name is used.
    name: Annotated[DocumentName | None, WithJsonSchema(TypeAdapter(DocumentName).json_schema())] = Field(
        default=None, description="The file's name when not given"
    )
    document_type: DocumentType = Field(description="Such as contract, quote, invoice, photo")
