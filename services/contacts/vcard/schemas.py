"""What vCard exports and imports accept and return."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from crm.validation import ShortText, StrictInput
from services.contacts.schemas import (
    Address,
    ContactFields,
    ContactSort,
    Cursor,
    Direction,
    EmploymentFields,
    SearchText,
)

VCardVersion = Literal["3.0", "4.0"]


class VCardOptions(StrictInput):
    version: VCardVersion = "3.0"


class VCardExport(VCardOptions):
    """The contacts ``search_contacts`` finds, in its order, a page of cards at a time."""

    q: SearchText | None = None
    sort: ContactSort = "last_name"
    direction: Direction = "asc"
    cursor: Cursor | None = None


class VCardImport(StrictInput):
    content: str = Field(description="The .vcf file's text: one or more cards")
    dry_run: bool = Field(default=False, description="Check every card and report; write nothing")


class CardJob(StrictInput):
    """An employment a card describes: ORG, with the TITLE and work TEL, EMAIL and ADR that go with it."""

    company: ShortText = Field(description="ORG's first component: a company found by name, or created")
    address: Address | None = Field(default=None, description="Given to the company only if it is created")
    employment: EmploymentFields = Field(default_factory=EmploymentFields)


class CardContact(ContactFields):
    """A contact a card describes, with one job per ORG."""

    jobs: Annotated[list[CardJob], Field(max_length=50)] = []


# Outputs: documented for the OpenAPI document; the service returns plain dicts.


class VCardFile(BaseModel):
    file_name: str = Field(description="A name for the download, e.g. François Lefèvre.vcf")
    content: str = Field(description="The cards, CRLF line ends, folded at 75 octets")
    count: int = Field(description="Cards in content")
    next_cursor: str | None = Field(default=None, description="For a list: the next page of cards, if any")


class VCardImportError(BaseModel):
    card: int = Field(description="The card's number in the file, from 1")
    field: str = Field(
        description='The property at fault as written, e.g. "EMAIL" or "job1.TEL"; "card" for all'
    )
    reason: str


class VCardNotKept(BaseModel):
    card: int = Field(description="The card's number in the file, from 1")
    property: str = Field(description='As written, with its label: "NICKNAME", "item1.EMAIL (Compta)"')
    value: str = Field(description="What it held (a photo by its size)")


class VCardImportOut(BaseModel):
    created: int
    updated: int = Field(description="Cards that changed the contact they matched (by UID or e-mail)")
    unchanged: int = Field(description="Cards that matched a contact and changed nothing")
    failed: int = Field(description="Cards refused; each reason is in errors")
    errors: list[VCardImportError]
    not_kept: list[VCardNotKept] = Field(
        description="What imported cards hold that the CRM has no place for (NICKNAME, PHOTO, ORG units, "
        "a middle name, a third e-mail, Apple labels...), per card"
    )
