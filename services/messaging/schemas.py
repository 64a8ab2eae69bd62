"""What the messaging service accepts and returns."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from crm.validation import (
    AwareDateTime,
    DayOrDateTime,
    Id,
    QueryInput,
    ShortText,
    StrictInput,
    blankable,
    whole_number,
)


def _lower(value: str) -> str:
    return value.lower()


_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(_lower)]
EmailProvider = Literal["sendgrid", "mailjet", "smtp"]
IdempotencyKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
]

# -- credits and authorization codes --------------------------------------------


class CreditPurchase(StrictInput):
    credits: whole_number(ge=1, le=10_000_000)
    # The invoice or order this purchase comes from; used once per organisation.
    reference: ShortText


class AuthorizationCodeCreate(StrictInput):
    user_id: Id
    label: blankable(ShortText) = None
    expires_at: AwareDateTime | None = None
    # Most credits (segments) the code may spend in one calendar month (UTC).
    monthly_cap: whole_number(ge=1, le=10_000_000) | None = None


# -- SMS ------------------------------------------------------------------------


class SmsSend(StrictInput):
    to: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[0-9+()./ \-]*$"),
    ]
    body: Annotated[str, StringConstraints(min_length=1, max_length=5_000)]
    authorization_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        if not body.strip():
            raise ValueError("the message is empty")
        return body


class SmsOut(BaseModel):
    id: str
    user_id: str
    to: str
    sender: str
    body: str
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    credits: int
    status: str
    status_at: datetime
    error: str | None
    provider_message_id: str | None
    created_at: datetime


class CreditEntryOut(BaseModel):
    id: str
    kind: Literal["purchase", "debit", "refund"]
    credits: int
    reference: str | None
    sms_id: str | None
    user_id: str | None
    created_at: datetime


class CreditsOut(BaseModel):
    balance: int
    entries: list[CreditEntryOut]
    next_cursor: str | None


class AuthorizationCodeOut(BaseModel):
    id: str
    user_id: str
    label: str | None
    expires_at: datetime | None
    monthly_cap: int | None
    used_this_month: int | None
    created_at: datetime
    revoked_at: datetime | None
    # Only in the answer to its creation: the code is kept hashed.
    code: str | None = None


# -- e-mail -----------------------------------------------------------------------


class EmailSettingsUpdate(StrictInput):
    provider: EmailProvider
    fallback_provider: EmailProvider | None = None
    sender_email: Email
    sender_name: blankable(ShortText) = None


class Recipient(StrictInput):
    email: Email
    name: blankable(ShortText) = None


class AttachmentIn(StrictInput):
    filename: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]*$"
        ),
    ]
    content_type: Annotated[
        str, StringConstraints(min_length=3, max_length=100, pattern=r"^[a-zA-Z0-9.+-]+/[a-zA-Z0-9.+-]+$")
    ] = "application/octet-stream"
    content_base64: Annotated[str, StringConstraints(min_length=1)]

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, content: str) -> str:
        try:
            base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        return content

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class EmailSend(StrictInput):
    to: Recipient
    subject: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=998, pattern=_NO_CONTROL)
    ]
    text: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)] | None = None
    html: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)] | None = None
    reply_to: Email | None = None
    attachments: Annotated[list[AttachmentIn], Field(max_length=20)] = Field(default_factory=list)


class EmailEventOut(BaseModel):
    status: str
    occurred_at: datetime
    reason: str | None
    url: str | None
    provider: str


class EmailOut(BaseModel):
    id: str
    user_id: str
    to: str
    to_name: str | None
    sender_email: str
    sender_name: str | None
    reply_to: str | None
    subject: str
    attachments: list[dict]
    provider: str
    provider_message_id: str | None
    status: str
    status_at: datetime
    error: str | None
    created_at: datetime
    timeline: list[EmailEventOut] | None = None


class SuppressionOut(BaseModel):
    email: str
    reason: str
    detail: str | None
    message_id: str | None
    created_at: datetime


# -- reports ------------------------------------------------------------------------


class ReportQuery(QueryInput):
    # Days in UTC, both included, or date-times with their offsets (until excluded).
    since: DayOrDateTime | None = None
    until: DayOrDateTime | None = None
    user_id: Id | None = None
    provider: EmailProvider | None = None


class DeliverabilityFigures(BaseModel):
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    delivered_rate: float
    opened_rate: float
    clicked_rate: float
    bounced_rate: float
    complained_rate: float


class DomainFigures(DeliverabilityFigures):
    domain: str


class EmailReport(BaseModel):
    totals: DeliverabilityFigures
    by_domain: list[DomainFigures]


class SmsUserFigures(BaseModel):
    user_id: str
    messages: int
    segments: int
    delivered: int
    failed: int
    credits_used: int


class SmsReport(BaseModel):
    users: list[SmsUserFigures]
    credits_used: int
