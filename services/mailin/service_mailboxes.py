"""IMAP mailbox entrypoints (see mailboxes.py)."""


class MailboxesMixin:
    """IMAP mailbox entrypoints (see mailboxes.py)."""
