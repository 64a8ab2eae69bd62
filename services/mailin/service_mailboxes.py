"""IMAP mailbox entrypoints: a user's own mailboxes (``mailboxes.py``) and their checks
(``checks.py``), on demand and every ``mailin.imap_check_minutes``."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import eventlet
from cryptography.fernet import Fernet

from crm.auth import CallerProvider
from crm.blobs import open_blob_store
from crm.rpc import rpc
from crm.validation import validate
from services.mailin import checks, mailboxes, passwords
from services.mailin.dependencies import configured_timer
from services.mailin.exceptions import CheckRunning
from services.mailin.imap.errors import ImapFailure
from services.mailin.imap.session import ImapAccount, try_account
from services.mailin.schemas import MailboxCreate, MailboxUpdate

# How often the timer looks for mailboxes due a check (each is checked every imap_check_minutes).
DUE_POLL_SECONDS = 30
# Mailboxes checked at once by one mailin process.
CHECK_CONCURRENCY = 4

log = logging.getLogger(__name__)


class MailboxesMixin:
    """IMAP mailbox entrypoints, mixed into ``MailinService`` (``self.db``, ``self.settings``)."""

    caller = CallerProvider()
    db: Any
    settings: Any

    @rpc
    def create_mailbox(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add an IMAP mailbox for the caller; its password is encrypted at rest and never answered.
        Its first periodic check comes ``imap_check_minutes`` later (``check_mailbox`` checks now)."""
        caller = self.caller.writer()
        request = validate(MailboxCreate, data)
        with self.db.transaction() as uow:
            return mailboxes.mailbox_out(mailboxes.create(uow.session, caller, request, self._fernet()))

    @rpc
    def list_mailboxes(self) -> list[dict[str, Any]]:
        """The caller's own mailboxes with the state of their checks."""
        caller = self.caller.user()
        with self.db.read() as session:
            return [mailboxes.mailbox_out(mailbox) for mailbox in mailboxes.own(session, caller)]

    @rpc
    def get_mailbox(self, mailbox_id: str) -> dict[str, Any]:
        """One of the caller's mailboxes (another user's is not found)."""
        caller = self.caller.user()
        with self.db.read() as session:
            return mailboxes.mailbox_out(mailboxes.mailbox_of(session, caller, mailbox_id))

    @rpc
    def update_mailbox(self, mailbox_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Change a mailbox (a stale ``version`` is refused); pointing it at another server, user
        or folder starts its cursor afresh (what was imported is not imported twice)."""
        caller = self.caller.writer()
        request = validate(MailboxUpdate, data)
        with self.db.transaction() as uow:
            mailbox = mailboxes.update(uow.session, caller, mailbox_id, request, self._fernet())
            return mailboxes.mailbox_out(mailbox)

    @rpc
    def delete_mailbox(self, mailbox_id: str) -> None:
        """Remove a mailbox and its password; the mail it brought stays."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            mailboxes.delete(uow.session, caller, mailbox_id)

    @rpc
    def test_mailbox(self, mailbox_id: str) -> dict[str, Any]:
        """Log in and select the folder (and the folder to move to), changing nothing: ``ok``, or
        ``error_code`` and ``error`` saying what is wrong (wrong password, TLS, host, folder)."""
        caller = self.caller.writer()
        with self.db.read() as session:
            mailbox = mailboxes.mailbox_of(session, caller, mailbox_id)
        try:
            password = passwords.decrypt(self._fernet(), mailbox.password_encrypted)
            account = ImapAccount(
                mailbox.host, mailbox.port, mailbox.security, mailbox.username, password, mailbox.folder
            )
            messages = try_account(account, checks.options_of(self.settings, asked=True), mailbox.move_to)
        except ImapFailure as failure:
            log.info("mailbox %s test: %s", mailbox_id, failure)
            return {"ok": False, "error_code": failure.code, "error": failure.detail, "messages": None}
        return {"ok": True, "error_code": None, "error": None, "messages": messages}

    @rpc
    def check_mailbox(self, mailbox_id: str) -> dict[str, Any]:
        """Check the mailbox now: store what is new and answer how many, with the mailbox's state
        (``more``: what is left, beyond the per-check cap or the time an answer may take, waits for
        the next check). A check already under way is ``CheckRunning`` (one at a time per mailbox)."""
        caller = self.caller.writer()
        with self.db.read() as session:
            mailboxes.mailbox_of(session, caller, mailbox_id)
        outcome = self._check(mailbox_id, asked=True)
        if not outcome.claimed:
            raise CheckRunning(
                f"a check of mailbox {mailbox_id} is under way; its outcome shows on the mailbox"
            )
        with self.db.read() as session:
            mailbox = mailboxes.mailbox_out(mailboxes.mailbox_of(session, caller, mailbox_id))
        return {
            "imported": outcome.imported,
            "skipped": outcome.skipped,
            "more": outcome.more,
            "mailbox": mailbox,
        }

    @configured_timer(interval_of=lambda settings: DUE_POLL_SECONDS)
    def check_due_mailboxes(self) -> None:
        """Every mailbox whose last check is ``imap_check_minutes`` old is checked, a few at once;
        a failure (wrong password...) is recorded on its mailbox and tried again next period."""
        every = timedelta(minutes=self.settings.mailin.imap_check_minutes)
        due = checks.due_mailboxes(self.db.engine, every, self.settings.mailin.imap_check_stale_seconds)
        pool = eventlet.GreenPool(CHECK_CONCURRENCY)
        checking = []
        try:
            for mailbox_id in due:
                checking.append(pool.spawn(self._check, mailbox_id))
            pool.waitall()
        finally:
            # The container kills this worker, not the threads it spawned: a killed container's
            # checks would go on with its database engine and blob store (as in process_pending).
            for thread in checking:
                thread.kill()

    def _check(self, mailbox_id: str, asked: bool = False) -> checks.CheckOutcome:
        return checks.check_mailbox(
            self.db.engine,
            open_blob_store(self.settings),
            self._fernet(),
            mailbox_id,
            checks.options_of(self.settings, asked=asked),
            checks.limits_of(self.settings, asked=asked),
        )

    def _fernet(self) -> Fernet:
        return passwords.cipher(self.settings.mailin.secret_key, self.settings.data_dir)
