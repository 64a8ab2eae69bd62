"""Errors raised by the notifier service."""

from crm.errors import NotFound


class NotificationNotFound(NotFound):
    """No such notification for the caller: another user's notification is not found either."""

    title = "Notification not found"
