"""HTTP routes of the notifier service: the caller's own notifications and delivery preferences."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import json_response, read_body, read_query, route
from services.notifier import schemas as notifier_api

V1 = "/api/v1"


class NotificationsRoutes:
    """Mixed into the gateway service; ``self.notifier`` is the RPC client.

    Read-only users may read their inbox and mark it read, but not change preferences.
    """

    notifier: Any
    auth: Any

    @route(
        "GET",
        f"{V1}/notifications",
        summary="Your notifications, newest first",
        tag="notifications",
        query=notifier_api.NotificationListQuery,
        response=notifier_api.NotificationPage,
    )
    def list_notifications(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, notifier_api.NotificationListQuery)
        return json_response(self.notifier.list_notifications(query.unread_only, query.limit, query.cursor))

    @route(
        "GET",
        f"{V1}/notifications/unread-count",
        summary="How many of your notifications are unread",
        tag="notifications",
        response=notifier_api.NotificationUnreadCount,
    )
    def count_unread_notifications(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.notifier.unread_count())

    @route(
        "POST",
        f"{V1}/notifications/<string:notification_id>/read",
        summary="Mark one of your notifications read (again changes nothing)",
        tag="notifications",
        response=notifier_api.NotificationOut,
        errors=(404,),
    )
    def mark_notification_read(self, request: Request, notification_id: str) -> Response:
        self.auth.caller()
        return json_response(self.notifier.mark_read(notification_id))

    @route(
        "POST",
        f"{V1}/notifications/read-all",
        summary="Mark all your notifications read",
        tag="notifications",
        response=notifier_api.NotificationsMarkedRead,
    )
    def mark_all_notifications_read(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.notifier.mark_all_read())

    @route(
        "GET",
        f"{V1}/notifications/preferences",
        summary="How you are notified: in the app always, by e-mail too if you ask",
        tag="notifications",
        response=notifier_api.DeliveryPreferencesOut,
    )
    def get_notification_preferences(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.notifier.get_preferences())

    @route(
        "PUT",
        f"{V1}/notifications/preferences",
        summary="Ask for (or stop) an e-mail copy of each notification",
        tag="notifications",
        body=notifier_api.DeliveryPreferencesUpdate,
        response=notifier_api.DeliveryPreferencesOut,
        errors=(403,),
    )
    def update_notification_preferences(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, notifier_api.DeliveryPreferencesUpdate)
        return json_response(self.notifier.update_preferences(body.model_dump(mode="json")))
