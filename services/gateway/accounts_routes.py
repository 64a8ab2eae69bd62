"""HTTP routes for the accounts service: log in and out, API tokens, the calling user, users, org settings."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.accounts import schemas as accounts_api
from services.gateway.dependencies import RememberedPreferences
from services.gateway.http import client_address, json_response, read_body, read_query, route
from services.gateway.schemas import UserListQuery

V1 = "/api/v1"


class AccountsRoutes:
    """Mixed into the gateway service; ``self.accounts`` is the RPC client."""

    accounts: Any
    auth: Any
    settings: Any
    # The caller's remembered list sorts and filters, kept a few seconds per process; every
    # list route reads them (list_preferences.py), so the whole gateway gets it from here.
    preferences = RememberedPreferences()

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

    @route(
        "GET",
        f"{V1}/me/preferences",
        summary="Own remembered preferences: list sorts and filters, agenda, language, date format",
        tag="me",
        response=accounts_api.Preferences,
    )
    def get_my_preferences(self, request: Request) -> Response:
        caller = self.auth.caller()
        return json_response(self.preferences.of(caller, fresh=True))

    @route(
        "PUT",
        f"{V1}/me/preferences",
        summary="Replace own preferences (keys left out take their defaults; read-only users may too)",
        tag="me",
        body=accounts_api.Preferences,
        response=accounts_api.Preferences,
    )
    def replace_my_preferences(self, request: Request) -> Response:
        # No require_writer: preferences change how the CRM is shown to the user, no CRM data.
        caller = self.auth.caller()
        body = read_body(request, accounts_api.Preferences)
        return json_response(self.preferences.replace(caller, body.model_dump(mode="json")))

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
