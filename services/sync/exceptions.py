"""Errors raised by the sync service."""

from crm.errors import Conflict, InvalidInput, NotFound


class SyncConflict(Conflict):
    """A pushed record changed on the server after the phone's last pull: nothing was applied;
    pull, then push again (WatermelonDB's ``synchronize()`` does both when called again)."""

    title = "Changed on the server since your last pull"


class AlertNotFound(NotFound):
    title = "Sync alert not found"


class CalendarFeedNotFound(NotFound):
    """No active user holds this calendar feed token: it never existed, or was rotated (the
    answer is the same, so that it says nothing of which)."""

    title = "Calendar feed not found"


class SyncTokenUnknown(InvalidInput):
    """A CardDAV sync token the address book never gave (of another book, or from a future
    the database was restored before): the client syncs again from the start (CardDAV answers
    403 with the DAV:valid-sync-token condition)."""

    title = "Unknown sync token"
