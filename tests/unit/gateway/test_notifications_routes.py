"""The notifications routes, mixed into the gateway as its service module will mix them."""

from __future__ import annotations

import json
import time
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.auth import Caller
from crm.errors import InvalidInput, ReadOnlyUser
from crm.rpc import RpcClient
from services.gateway.notifications_routes import NotificationsRoutes
from services.gateway.openapi import build_document, routes_of
from services.gateway.service import GatewayService

if issubclass(GatewayService, NotificationsRoutes):
    Gateway = GatewayService
else:  # until services/gateway/service.py mixes the routes in itself

    class Gateway(NotificationsRoutes, GatewayService):
        notifier = RpcClient("notifier")


def _gateway(notifier: MagicMock, read_only: bool = False) -> Gateway:
    auth = MagicMock()
    auth.caller.return_value = Caller("bob", "pomme", "member", read_only, "s-1", int(time.time()) + 900)
    return worker_factory(Gateway, auth=auth, notifier=notifier)


def _request(method: str, path: str, **kwargs) -> Request:
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document(Gateway)


@pytest.mark.parametrize(
    ("method", "path", "handler", "values"),
    [
        ("GET", "/api/v1/notifications", "list_notifications", {}),
        ("GET", "/api/v1/notifications/unread-count", "count_unread_notifications", {}),
        (
            "POST",
            "/api/v1/notifications/0193-a/read",
            "mark_notification_read",
            {"notification_id": "0193-a"},
        ),
        ("POST", "/api/v1/notifications/read-all", "mark_all_notifications_read", {}),
        ("GET", "/api/v1/notifications/preferences", "get_notification_preferences", {}),
        ("PUT", "/api/v1/notifications/preferences", "update_notification_preferences", {}),
    ],
)
def test_each_notifications_path_reaches_its_own_handler(method, path, handler, values):
    rules = [Rule(url, methods=[verb], endpoint=name) for verb, url, _, name in routes_of(Gateway)]

    assert Map(rules).bind("crm.test").match(path, method) == (handler, values)


def test_the_document_describes_the_inbox(document):
    listing = document["paths"]["/api/v1/notifications"]["get"]
    update = document["paths"]["/api/v1/notifications/preferences"]["put"]

    assert {p["name"] for p in listing["parameters"]} == {"unread_only", "limit", "cursor"}
    assert listing["tags"] == ["notifications"]
    assert "403" in update["responses"]
    assert "404" in document["paths"]["/api/v1/notifications/{notification_id}/read"]["post"]["responses"]
    assert "actions" in document["components"]["schemas"]["NotificationOut"]["properties"]


def test_the_query_string_is_read_and_passed_on():
    notifier = MagicMock()
    notifier.list_notifications.return_value = {"items": [], "next_cursor": None}

    response = _gateway(notifier).list_notifications(
        _request("GET", "/api/v1/notifications", query_string="unread_only=true&limit=20")
    )

    assert response.status_code == 200
    notifier.list_notifications.assert_called_once_with(True, 20, None)


def test_a_bad_limit_is_refused_before_calling_the_notifier():
    notifier = MagicMock()

    with pytest.raises(InvalidInput):
        _gateway(notifier).list_notifications(
            _request("GET", "/api/v1/notifications", query_string="limit=0")
        )
    notifier.list_notifications.assert_not_called()


def test_a_read_only_user_may_mark_read_but_not_change_preferences():
    notifier = MagicMock()
    notifier.mark_all_read.return_value = {"marked": 2}
    gateway = _gateway(notifier, read_only=True)

    response = gateway.mark_all_notifications_read(_request("POST", "/api/v1/notifications/read-all"))
    assert json.loads(response.get_data()) == {"marked": 2}
    with pytest.raises(ReadOnlyUser):
        gateway.update_notification_preferences(
            _request("PUT", "/api/v1/notifications/preferences", json={"email_copy": True})
        )
    notifier.update_preferences.assert_not_called()


def test_preferences_are_passed_on_as_json():
    notifier = MagicMock()
    notifier.update_preferences.return_value = {"in_app": True, "email_copy": True}

    response = _gateway(notifier).update_notification_preferences(
        _request("PUT", "/api/v1/notifications/preferences", json={"email_copy": True})
    )

    assert json.loads(response.get_data()) == {"in_app": True, "email_copy": True}
    notifier.update_preferences.assert_called_once_with({"email_copy": True, "in_app": True})
