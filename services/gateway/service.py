"""gateway: HTTP routes. Each handler authenticates, validates, calls one service."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from crm.health import Pingable
from crm.rpc import RpcClient
from services.accounts import schemas as accounts_api
from services.gateway import docs, metrics
from services.gateway.contacts_routes import ContactsRoutes
from services.gateway.dependencies import Authenticator
from services.gateway.http import client_address, json_response, read_body, read_query, route
from services.gateway.imports_routes import ImportsRoutes
from services.gateway.interactions_routes import InteractionsRoutes
from services.gateway.messaging_routes import MessagingRoutes
from services.gateway.notifications_routes import NotificationsRoutes
from services.gateway.openapi import build_document
from services.gateway.problems import PROBLEM_KINDS
from services.gateway.resources_routes import ResourcesRoutes
from services.gateway.schemas import Health, Readiness, UserListQuery
from services.gateway.webhook_routes import WebhookRoutes
from services.gateway.work_routes import WorkRoutes

# The exceptions modules of the services we call, so their errors deserialise
# into their own classes (and so into the right HTTP status).
import services.accounts.exceptions  # noqa: F401, E402  isort: skip
import services.contacts.exceptions  # noqa: F401, E402  isort: skip
import services.messaging.exceptions  # noqa: F401, E402  isort: skip
import services.interactions.exceptions  # noqa: F401, E402  isort: skip
import services.notifier.exceptions  # noqa: F401, E402  isort: skip

V1 = "/api/v1"


class GatewayService(
    ContactsRoutes,
    ImportsRoutes,
    InteractionsRoutes,
    MessagingRoutes,
    NotificationsRoutes,
    ResourcesRoutes,
    WorkRoutes,
    WebhookRoutes,
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

    # -- auth -------------------------------------------------------------

    @route(
        "POST",
        f"{V1}/auth/login",
        summary="Log in with e-mail and password",
        tag="auth",
        auth=False,
        body=accounts_api.LoginRequest,
        response=accounts_api.TokenPair,
        errors=(401, 429, 503),
    )
    def login(self, request: Request) -> Response:
        credentials = read_body(request, accounts_api.LoginRequest)
        address = client_address(request, self.settings.gateway.trust_forwarded_for)
        return json_response(self.accounts.login(credentials.model_dump(), address))

    @route(
        "POST",
        f"{V1}/auth/refresh",
        summary="Swap a refresh token for a new pair",
        tag="auth",
        auth=False,
        body=accounts_api.RefreshRequest,
        response=accounts_api.TokenPair,
        errors=(401, 503),
    )
    def refresh(self, request: Request) -> Response:
        body = read_body(request, accounts_api.RefreshRequest)
        return json_response(self.accounts.refresh(body.model_dump()))

    @route(
        "POST",
        f"{V1}/auth/logout",
        summary="Sign out this session",
        tag="auth",
        body=accounts_api.LogoutRequest,
        body_required=False,
        status=204,
    )
    def logout(self, request: Request) -> Response:
        self.auth.caller()
        body = read_body(request, accounts_api.LogoutRequest, required=False)
        self.accounts.logout(body.model_dump(exclude_none=True))
        return Response(status=204)

    @route(
        "GET",
        f"{V1}/auth/tokens",
        summary="API tokens (own; an admin sees all)",
        tag="auth",
        response=accounts_api.ApiTokenList,
    )
    def list_api_tokens(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.accounts.list_api_tokens())

    @route(
        "POST",
        f"{V1}/auth/tokens",
        summary="Create an API token (the secret is shown once)",
        tag="auth",
        body=accounts_api.ApiTokenCreate,
        response=accounts_api.CreatedApiTokenOut,
        status=201,
        errors=(403,),
    )
    def create_api_token(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, accounts_api.ApiTokenCreate)
        return json_response(self.accounts.create_api_token(body.model_dump(mode="json")), status=201)

    @route(
        "DELETE",
        f"{V1}/auth/tokens/<string:token_id>",
        summary="Revoke an API token",
        tag="auth",
        response=accounts_api.ApiTokenOut,
        errors=(403, 404),
    )
    def revoke_api_token(self, request: Request, token_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.accounts.revoke_api_token(token_id))

    # -- me -----------------------------------------------------------------

    @route("GET", f"{V1}/me", summary="The calling user", tag="me", response=accounts_api.UserOut)
    def get_me(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.accounts.get_me())

    @route(
        "PATCH",
        f"{V1}/me",
        summary="Change own name, time zone or password",
        tag="me",
        body=accounts_api.ProfileUpdate,
        response=accounts_api.UserOut,
        errors=(403,),
    )
    def update_me(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, accounts_api.ProfileUpdate)
        return json_response(self.accounts.update_me(body.model_dump(exclude_unset=True)))

    @route(
        "GET",
        f"{V1}/me/secrets",
        summary="Own ingest address and calendar feed state",
        tag="me",
        response=accounts_api.UserSecretsOut,
    )
    def get_my_secrets(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.accounts.get_my_secrets())

    @route(
        "POST",
        f"{V1}/me/secrets/<string:kind>/rotate",
        summary="Replace the ingest address (ingest_address) or calendar token (calendar_feed)",
        tag="me",
        path_params={"kind": {"type": "string", "enum": ["ingest_address", "calendar_feed"]}},
        response=accounts_api.RotatedSecretOut,
        errors=(403,),
    )
    def rotate_my_secret(self, request: Request, kind: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.accounts.rotate_my_secret(kind))

    # -- users ----------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/users",
        summary="Users of the organisation",
        tag="users",
        query=UserListQuery,
        response=accounts_api.UserPage,
    )
    def list_users(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, UserListQuery)
        return json_response(self.accounts.list_users(query.limit, query.cursor, query.include_inactive))

    @route(
        "POST",
        f"{V1}/users",
        summary="Create a user",
        tag="users",
        admin=True,
        body=accounts_api.UserCreate,
        response=accounts_api.CreatedUserOut,
        status=201,
        replay_status=200,
        errors=(409,),
    )
    def create_user(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, accounts_api.UserCreate)
        result = self.accounts.create_user(body.model_dump(mode="json", exclude_unset=True))
        created = result.pop("created")
        return json_response(
            result,
            status=201 if created else 200,
            headers={"Location": f"{V1}/users/{result['id']}"},
        )

    @route(
        "GET",
        f"{V1}/users/<string:user_id>",
        summary="One user",
        tag="users",
        response=accounts_api.UserOut,
        errors=(404,),
    )
    def get_user(self, request: Request, user_id: str) -> Response:
        self.auth.caller()
        return json_response(self.accounts.get_user(user_id))

    @route(
        "PATCH",
        f"{V1}/users/<string:user_id>",
        summary="Change a user (role, read-only, hourly cost, ...)",
        tag="users",
        admin=True,
        body=accounts_api.UserUpdate,
        response=accounts_api.UserOut,
        errors=(404, 409),
    )
    def update_user(self, request: Request, user_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, accounts_api.UserUpdate)
        return json_response(
            self.accounts.update_user(user_id, body.model_dump(mode="json", exclude_unset=True))
        )

    @route(
        "POST",
        f"{V1}/users/<string:user_id>/deactivate",
        summary="Deactivate a user and sign them out everywhere",
        tag="users",
        admin=True,
        response=accounts_api.UserOut,
        errors=(404, 409),
    )
    def deactivate_user(self, request: Request, user_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        return json_response(self.accounts.set_user_active(user_id, False))

    @route(
        "POST",
        f"{V1}/users/<string:user_id>/reactivate",
        summary="Reactivate a user",
        tag="users",
        admin=True,
        response=accounts_api.UserOut,
        errors=(404,),
    )
    def reactivate_user(self, request: Request, user_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        return json_response(self.accounts.set_user_active(user_id, True))

    # -- settings ---------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/settings",
        summary="Organisation settings",
        tag="settings",
        response=accounts_api.OrgSettings,
    )
    def get_settings(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.accounts.get_settings())

    @route(
        "PATCH",
        f"{V1}/settings",
        summary="Change organisation settings",
        tag="settings",
        admin=True,
        body=accounts_api.OrgSettingsUpdate,
        response=accounts_api.OrgSettings,
    )
    def update_settings(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, accounts_api.OrgSettingsUpdate)
        return json_response(self.accounts.update_settings(body.model_dump(exclude_none=True)))
