"""Errors raised by the mailin service (its IMAP mailboxes)."""

from crm.errors import Conflict, NotFound

# Shared with every service; raised here too, so callers find them with the others.
from crm.errors import StaleVersion as StaleVersion


class MailboxNotFound(NotFound):
    title = "Mailbox not found"


class CheckRunning(Conflict):
    """A check of this mailbox is under way (one at a time per mailbox)."""

    title = "Check running"
