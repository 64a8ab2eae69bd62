"""A user's IMAP mailboxes: add, read, change, remove. Each user sees and changes their own only.

The password is encrypted here (``passwords.py``) and never leaves in an
answer. Changing where the mailbox is (host, port, user name or folder)
starts its cursor afresh, since UIDs belong to one folder of one server; the
message keys make sure nothing already imported becomes a second interaction.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from crm.ids import new_id
from crm.records import check_version
from crm.times import iso, utcnow
from services.mailin import passwords
from services.mailin.exceptions import MailboxNotFound
from services.mailin.imap.fetch import MOVE
from services.mailin.models import Mailbox
from services.mailin.schemas import MailboxCreate, MailboxUpdate

# A change of any of these points at another folder: the cursor starts afresh.
_WHERE = ("host", "port", "username", "folder")


def create(session: Session, caller: Caller, request: MailboxCreate, fernet: Fernet) -> Mailbox:
    fields = request.model_dump(exclude={"password"})
    _check_move_to(fields["after_import"], fields["move_to"], fields["folder"])
    if fields["after_import"] != MOVE:
        fields["move_to"] = None
    now = utcnow()
    mailbox = Mailbox(
        id=new_id(),
        org_id=caller.org_id,
        user_id=caller.user_id,
        **{**fields, "name": fields["name"] or f"{request.username}@{request.host}"[:200]},
        password_encrypted=passwords.encrypt(fernet, request.password),
        messages_imported=0,
        messages_skipped=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(mailbox)
    session.flush()
    return mailbox


def update(
    session: Session, caller: Caller, mailbox_id: str, request: MailboxUpdate, fernet: Fernet
) -> Mailbox:
    mailbox = mailbox_of(session, caller, mailbox_id, lock=True)
    check_version(mailbox, request.version, "mailbox")
    changes = request.model_dump(exclude_unset=True, exclude={"version", "password"})
    for name in ("name", "host", "port", "security", "username", "folder", "after_import"):
        if name in changes and changes[name] is None:
            raise invalid(name, "cannot be null")
    after_import = changes.get("after_import", mailbox.after_import)
    move_to = changes.get("move_to", mailbox.move_to)
    _check_move_to(after_import, move_to, changes.get("folder", mailbox.folder))
    if after_import != MOVE:
        changes["move_to"] = None
    moved = any(name in changes and changes[name] != getattr(mailbox, name) for name in _WHERE)
    for name, value in changes.items():
        setattr(mailbox, name, value)
    if request.password is not None:
        mailbox.password_encrypted = passwords.encrypt(fernet, request.password)
    if moved:
        mailbox.uid_validity = None
        mailbox.last_uid = None
        # A check still reading the old folder finds its claim gone and stops.
        mailbox.checking_since = None
    if moved or request.password is not None:
        mailbox.last_error = None
        mailbox.last_error_code = None
    mailbox.version += 1
    mailbox.updated_at = utcnow()
    session.flush()
    return mailbox


def delete(session: Session, caller: Caller, mailbox_id: str) -> None:
    """Removed with its password; what it imported stays (deliveries, interactions)."""
    session.delete(mailbox_of(session, caller, mailbox_id, lock=True))
    session.flush()


def mailbox_of(session: Session, caller: Caller, mailbox_id: str, *, lock: bool = False) -> Mailbox:
    """The caller's own mailbox, else ``MailboxNotFound`` (another user's is not found either)."""
    row = (
        session.get(Mailbox, mailbox_id, with_for_update=lock or None)
        if isinstance(mailbox_id, str)
        else None
    )
    if row is None or row.org_id != caller.org_id or row.user_id != caller.user_id:
        raise MailboxNotFound(f"no mailbox {mailbox_id}")
    return row


def own(session: Session, caller: Caller) -> list[Mailbox]:
    return list(
        session.scalars(
            select(Mailbox)
            .where(Mailbox.org_id == caller.org_id, Mailbox.user_id == caller.user_id)
            .order_by(Mailbox.created_at, Mailbox.id)
        )
    )


def mailbox_out(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "id": mailbox.id,
        "name": mailbox.name,
        "host": mailbox.host,
        "port": mailbox.port,
        "security": mailbox.security,
        "username": mailbox.username,
        "folder": mailbox.folder,
        "after_import": mailbox.after_import,
        "move_to": mailbox.move_to,
        "last_check_at": iso(mailbox.last_check_at),
        "last_success_at": iso(mailbox.last_success_at),
        "messages_imported": mailbox.messages_imported,
        "messages_skipped": mailbox.messages_skipped,
        "last_skipped": mailbox.last_skipped,
        "last_error": mailbox.last_error,
        "last_error_code": mailbox.last_error_code,
        "checking": mailbox.checking_since is not None,
        "uid_validity": mailbox.uid_validity,
        "last_uid": mailbox.last_uid,
        "version": mailbox.version,
        "created_at": iso(mailbox.created_at),
        "updated_at": iso(mailbox.updated_at),
    }


def _check_move_to(after_import: str, move_to: str | None, folder: str) -> None:
    if after_import != MOVE:
        return
    if not move_to:
        raise invalid("move_to", "is required when after_import is move")
    if move_to == folder:
        raise invalid("move_to", "must be another folder than the one read")
