"""What ``mail_received`` (from mailin) carries, as interactions reads it.

Lenient where an event may grow (fields added later are ignored), strict on what the
pending e-mail is built from. See docs/rpc-and-events.md for the record's fields.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm.validation import AwareDateTime, Id

BlobHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MailAddress(_Event):
    address: str
    name: str = ""


class MailBlob(_Event):
    blob_hash: BlobHash
    size: int = Field(ge=0)


class MailFile(MailBlob):
    name: str
    content_type: str = "application/octet-stream"
    inline: bool = False


class RawMail(MailBlob):
    name: str = "message.eml"


class MailReceived(_Event):
    user_id: Id
    message_key: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    subject: str = ""
    sender: MailAddress | None = None
    original_sender: MailAddress | None = None
    received_at: AwareDateTime
    sent_at: AwareDateTime | None = None
    text: str = ""
    html: MailBlob | None = None
    attachments: list[MailFile] = Field(default_factory=list)
    raw: RawMail
    contact_id: Id | None = None
    company_id: Id | None = None
    problems: list[str] = Field(default_factory=list)
    source: str | None = None


class MailReceivedEvent(_Event):
    event_id: Id
    org_id: Id
    record: MailReceived
