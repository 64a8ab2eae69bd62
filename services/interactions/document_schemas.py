"""What documents accept: an upload, a link, the list of a contact's or a company's."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, WithJsonSchema

from crm.validation import Id, QueryInput, StrictInput
from services.interactions.schemas import NO_CONTROL


def document_max_bytes(settings: Any) -> int:
    """The largest document an upload may carry, in bytes (``interactions.document_max_bytes``)."""
    return settings.interactions.document_max_bytes


class DocumentListQuery(QueryInput):
    """One of contact_id or company_id: the documents of the interactions linked to it."""

    contact_id: Id | None = None
    company_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] | None = None


DocumentName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
]
DocumentType = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=NO_CONTROL)
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
