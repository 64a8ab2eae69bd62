"""What the IMAP mailbox routes accept and answer. The password is taken, never answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from crm.validation import StrictInput, whole_number

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL)
]
# A host name, an IPv4 address or an IPv6 address (with or without brackets).
Host = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._:\[\]-]+$"),
]
Port = whole_number(ge=1, le=65535)
Security = Literal["tls", "starttls"]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=_NO_CONTROL)]
# Sent to the server as typed: not trimmed.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=_NO_CONTROL)]
Folder = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=_NO_CONTROL)
]
AfterImport = Literal["flag", "move", "leave"]
# services.mailin.imap.errors.CODES
ErrorCode = Literal[
    "auth_failed", "tls_failed", "host_unreachable", "folder_missing", "server_error", "password_unreadable"
]

_SECURITY = "tls: implicit TLS (usually port 993); starttls: plain connection upgraded before login (143)"
_AFTER_IMPORT = (
    "What is done to a message once stored: flag (the \\Flagged flag every mail client shows), "
    "move (to move_to), or leave"
)


class MailboxCreate(StrictInput):
    name: Name | None = Field(default=None, description="A label; user name @ host when not given")
    host: Host
    port: Port = Field(default=993, description="993 when not given")
    security: Security = Field(default="tls", description=_SECURITY)
    username: UserName
    password: Password = Field(description="Encrypted at rest; never answered")
    folder: Folder = "INBOX"
    after_import: AfterImport = Field(default="flag", description=_AFTER_IMPORT)
    move_to: Folder | None = Field(default=None, description="The folder to move to (after_import move)")


class MailboxUpdate(StrictInput):
    name: Name | None = None
    host: Host | None = None
    port: Port | None = None
    security: Security | None = None
    username: UserName | None = None
    password: Password | None = None
    folder: Folder | None = None
    after_import: AfterImport | None = None
    move_to: Folder | None = None
    version: whole_number(ge=1) | None = Field(
        default=None, description="Refused (409) if the mailbox moved on"
    )


class MailboxOut(BaseModel):
    id: str
    name: str
    host: str
    port: int
    security: Security
    username: str
    folder: str
    after_import: AfterImport
    move_to: str | None
    last_check_at: datetime | None = Field(description="When the last check ended, well or not")
    last_success_at: datetime | None
    messages_imported: int = Field(description="Messages stored from this mailbox since it was added")
    messages_skipped: int = Field(description="Messages left on the server, over the size limit")
    last_skipped: str | None = Field(description="The last message skipped, and its size")
    last_error: str | None = Field(description="What went wrong at the last check; null after a good one")
    last_error_code: ErrorCode | None
    checking: bool = Field(description="A check is under way")
    uid_validity: int | None
    last_uid: int | None = Field(
        description="The highest UID imported (UIDs are only valid with uid_validity)"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class MailboxList(BaseModel):
    mailboxes: list[MailboxOut]


class MailboxTestOut(BaseModel):
    ok: bool
    error_code: ErrorCode | None = None
    error: str | None = Field(
        default=None, description="What is wrong, naming the host, folder or server answer"
    )
    messages: int | None = Field(default=None, description="Messages in the folder")


class MailboxCheckOut(BaseModel):
    imported: int = Field(description="Messages stored by this check")
    skipped: int = Field(description="Messages left on the server by this check, over the size limit")
    more: bool = Field(description="New messages remain for the next check (or check again now)")
    mailbox: MailboxOut


class SmtpPasswordOut(BaseModel):
    username: str = Field(description="The user name for the mail client: your ingest address")
    password: str = Field(description="Shown this once; a new one replaces it")
    auth_offered: bool = Field(description="Whether this server offers AUTH (after STARTTLS)")
