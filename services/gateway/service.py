"""gateway: the HTTP edge. Each service's routes live in ``<service>_routes.py``, mixed in here;
this module adds the RPC clients, the OpenAPI document, the docs pages, metrics and health."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from werkzeug.wrappers import Request, Response

from crm.health import Pingable
from crm.rpc import RpcClient
from services.gateway import docs, metrics
from services.gateway.accounts_routes import AccountsRoutes
from services.gateway.calendar_routes import CalendarRoutes
from services.gateway.carddav_routes import CardDavRoutes
from services.gateway.checkins_routes import CheckInsRoutes
from services.gateway.contacts_routes import ContactsRoutes
from services.gateway.dependencies import Authenticator
from services.gateway.documents_routes import DocumentsRoutes
from services.gateway.google_routes import GoogleRoutes
from services.gateway.http import json_response, route
from services.gateway.imports_routes import ImportsRoutes
from services.gateway.interactions_routes import InteractionsRoutes
from services.gateway.mailboxes_routes import MailboxesRoutes
from services.gateway.messaging_routes import MessagingRoutes
from services.gateway.notes_routes import NotesRoutes
from services.gateway.notifications_routes import NotificationsRoutes
from services.gateway.openapi import build_document
from services.gateway.problems import PROBLEM_KINDS
from services.gateway.qr_routes import QrRoutes
from services.gateway.resources_routes import ResourcesRoutes
from services.gateway.schemas import Health, Readiness
from services.gateway.sync_routes import SyncRoutes
from services.gateway.templates_routes import TemplatesRoutes
from services.gateway.timers_routes import TimersRoutes
from services.gateway.webhook_routes import WebhookRoutes

# The exceptions modules of the services we call, so their errors deserialise
# into their own classes (and so into the right HTTP status).
import services.accounts.exceptions  # noqa: F401, E402  isort: skip
import services.contacts.exceptions  # noqa: F401, E402  isort: skip
import services.messaging.exceptions  # noqa: F401, E402  isort: skip
import services.interactions.exceptions  # noqa: F401, E402  isort: skip
import services.notifier.exceptions  # noqa: F401, E402  isort: skip
import services.mailin.exceptions  # noqa: F401, E402  isort: skip
import services.sync.exceptions  # noqa: F401, E402  isort: skip

V1 = "/api/v1"


class GatewayService(
    AccountsRoutes,
    ContactsRoutes,
    ImportsRoutes,
    InteractionsRoutes,
    MessagingRoutes,
    NotificationsRoutes,
    ResourcesRoutes,
    TemplatesRoutes,
    TimersRoutes,
    CheckInsRoutes,
    NotesRoutes,
    DocumentsRoutes,
    MailboxesRoutes,
    WebhookRoutes,
    QrRoutes,
    SyncRoutes,
    CalendarRoutes,
    CardDavRoutes,
    GoogleRoutes,
    Pingable,
):
    name = "gateway"

    config = Config()
    auth = Authenticator()
    accounts = RpcClient("accounts")
    contacts = RpcClient("contacts")
    messaging = RpcClient("messaging")
    interactions = RpcClient("interactions")
    notifier = RpcClient("notifier")
    mailin = RpcClient("mailin")
    sync = RpcClient("sync")
    # record_viewed (services/gateway/views.py): without a confirm, a view never waits on the bus.
    dispatch_event = EventDispatcher(use_confirms=False)

    @property
    def settings(self) -> Any:
        return self.config["CRM"]

    # -- documents and health -------------------------------------------

    @route("GET", f"{V1}/openapi.json", summary="This OpenAPI document", tag="meta", auth=False)
    def openapi(self, request: Request) -> Response:
        return json_response(build_document(type(self)))

    @route("GET", "/docs", documented=False)
    def docs_page(self, request: Request) -> Response:
        return docs.docs_page()

    @route("GET", "/docs/static/<string:filename>", documented=False)
    def docs_static(self, request: Request, filename: str) -> Response:
        return docs.static_file(filename)

    @route("GET", "/docs/problems", documented=False)
    def problem_types(self, request: Request) -> Response:
        return docs.problems_page(PROBLEM_KINDS)

    @route("GET", "/metrics", documented=False)
    def metrics(self, request: Request) -> Response:
        return metrics.metrics_response()

    @route(
        "GET",
        "/healthz",
        summary="The gateway process is alive",
        tag="meta",
        auth=False,
        response=Health,
    )
    def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    @route(
        "GET",
        "/readyz",
        summary="Broker reachable and every service answers a ping",
        tag="meta",
        auth=False,
        response=Readiness,
        errors=(503,),
    )
    def readyz(self, request: Request) -> Response:
        services = [name for name in self.settings.services if name != "gateway"]
        deadline = self.settings.gateway.readiness_timeout_seconds
        answers = eventlet.GreenPool().imap(lambda service: self._ping(service, deadline), services)
        results = dict(zip(services, answers, strict=True))
        if not self.auth.ready:
            results["gateway"] = "does not know yet which accesses were revoked"
        ready = all(state == "ok" for state in results.values())
        body = {"status": "ready" if ready else "not ready", "services": results}
        return json_response(body, status=200 if ready else 503)

    def _ping(self, service: str, deadline: float) -> str:
        from nameko.standalone.rpc import ClusterRpcProxy

        try:
            with eventlet.Timeout(deadline):
                with ClusterRpcProxy(self.config, timeout=deadline) as cluster:
                    return getattr(cluster, service).ping()["status"]
        except eventlet.Timeout:
            return f"no answer within {deadline:g} s"
        except Exception as exc:  # broker down, unknown service
            return f"unreachable: {type(exc).__name__}: {exc}"[:200]
