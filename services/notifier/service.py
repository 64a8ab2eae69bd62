"""notifier: the in-app notifications of each user (the messenger inbox). Entrypoints only.

Participant events of the interactions service become notifications (see
``rules.py`` for who is told what), each announced as ``notification_created``.
Every RPC acts for the caller of the access token, on their own inbox only:
another user's notification, in the organisation or not, is not found.
Read-only users may read their inbox and mark it read (that is their own
reading state, not CRM data), but not change their delivery preferences.
"""

from __future__ import annotations

from typing import Any

from crm.auth import CallerProvider
from crm.database import Database
from crm.events import durable_event_handler
from crm.health import Pingable
from crm.rpc import rpc
from crm.validation import validate
from services.notifier import notifications, preferences
from services.notifier.models import Base
from services.notifier.schemas import DeliveryPreferencesUpdate, NotificationQuery

INTERACTIONS = "interactions"


class NotifierService(Pingable):
    name = "notifier"

    db = Database(Base.metadata)
    caller = CallerProvider()

    # -- participant events ---------------------------------------------------

    @durable_event_handler(INTERACTIONS, "participant_invited")
    def on_participant_invited(self, payload: dict[str, Any]) -> None:
        """The invitee gets an ``invitation`` offering accept and refuse (once per event)."""
        notifications.deliver(self.db, "participant_invited", payload)

    @durable_event_handler(INTERACTIONS, "participant_confirmed")
    def on_participant_confirmed(self, payload: dict[str, Any]) -> None:
        """Added by someone else: the participant is told (``added``). Accepted by the
        invitee: the owner is told (``accepted``). Once per event."""
        notifications.deliver(self.db, "participant_confirmed", payload)

    @durable_event_handler(INTERACTIONS, "participant_refused")
    def on_participant_refused(self, payload: dict[str, Any]) -> None:
        """The owner is told the invitation was ``refused`` (once per event)."""
        notifications.deliver(self.db, "participant_refused", payload)

    @durable_event_handler(INTERACTIONS, "participant_removed")
    def on_participant_removed(self, payload: dict[str, Any]) -> None:
        """The removed user is told (``removed``), unless they left on their own. Once per event."""
        notifications.deliver(self.db, "participant_removed", payload)

    # -- the inbox ------------------------------------------------------------

    @rpc
    def list_notifications(
        self, unread_only: bool = False, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """The caller's notifications, newest first: ``{items, next_cursor}``."""
        caller = self.caller.user()
        query = validate(NotificationQuery, {"unread_only": unread_only, "limit": limit, "cursor": cursor})
        with self.db.read() as session:
            return notifications.page(session, caller, query)

    @rpc
    def unread_count(self) -> dict[str, int]:
        """How many of the caller's notifications are unread: ``{unread}``."""
        caller = self.caller.user()
        with self.db.read() as session:
            return {"unread": notifications.unread_count(session, caller)}

    @rpc
    def mark_read(self, notification_id: str) -> dict[str, Any]:
        """Mark one of the caller's notifications read and return it; again changes nothing."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            return notifications.mark_read(uow.session, caller, notification_id)

    @rpc
    def mark_all_read(self) -> dict[str, int]:
        """Mark all the caller's notifications read: ``{marked}`` says how many were unread."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            return {"marked": notifications.mark_all_read(uow.session, caller)}

    # -- delivery preferences ---------------------------------------------------

    @rpc
    def get_preferences(self) -> dict[str, Any]:
        """The caller's delivery preferences: ``{in_app: true, email_copy}``."""
        caller = self.caller.user()
        with self.db.read() as session:
            return preferences.get(session, caller)

    @rpc
    def update_preferences(self, data: dict[str, Any]) -> dict[str, Any]:
        """Set ``email_copy``; in-app notifications cannot be turned off. Not for read-only users."""
        caller = self.caller.writer()
        request = validate(DeliveryPreferencesUpdate, data)
        with self.db.transaction() as uow:
            return preferences.update(uow.session, caller, request)
