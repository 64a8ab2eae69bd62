"""Errors raised by the sync service."""

from crm.errors import Conflict, NotFound


class SyncConflict(Conflict):
    """A pushed record changed on the server after the phone's last pull: nothing was applied;
    pull, then push again (WatermelonDB's ``synchronize()`` does both when called again)."""

    title = "Changed on the server since your last pull"


class AlertNotFound(NotFound):
    title = "Sync alert not found"
