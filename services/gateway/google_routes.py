"""HTTP routes of Google Contacts two-way sync: connect a Google account (OAuth 2.0), Google's
callback, the connection, disconnect, runs with their progress and per-contact log
(``sync`` does the work; docs/google-contacts.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from crm.errors import CrmError
from services.gateway.http import json_response, read_body, read_query, route
from services.sync.google import schemas as google_api

import services.sync.google.exceptions  # noqa: F401, E402  isort: skip  (its errors cross RPC as themselves)

GOOGLE = "/api/v1/sync/google"
_CONNECT = (
    "Send the browser to `authorization_url`; Google sends it back to the callback, which starts the "
    "first run. The sync then runs every `sync.google.interval_minutes`, both ways, for the contacts of "
    "the Google group `sync.google.group_name`. Read-only users cannot connect (the sync writes contacts); "
    "a session opened with an API token cannot either (connecting makes an API token for the job)."
)


class GoogleRoutes:
    """Mixed into the gateway service; ``self.sync`` is the RPC client."""

    sync: Any
    auth: Any
    config: Any

    @route(
        "POST",
        f"{GOOGLE}/connection",
        summary="Start connecting your Google account: the consent URL to send the browser to",
        tag="google",
        body=google_api.GoogleConnect,
        body_required=False,
        response=google_api.GoogleConnectOut,
        errors=(403,),
        extra={"description": _CONNECT},
    )
    def connect_google(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, google_api.GoogleConnect, required=False)
        return json_response(self.sync.connect_google(body.login_hint))

    @route(
        "GET",
        f"{GOOGLE}/callback",
        summary="Where Google sends the browser back (no login: the single-use state names the user)",
        tag="google",
        auth=False,
        query=google_api.GoogleCallbackQuery,
        response=google_api.GoogleCallbackOut,
        errors=(503,),
        extra={
            "description": "Trades the code for a refresh token (kept encrypted) and starts the first run. "
            "With `sync.google.after_connect_url` set, the browser is sent there instead "
            "(`?google=connected`, or `?google=error&reason=...`). An unknown or expired state, or a "
            "code Google refuses: 422."
        },
    )
    def google_callback(self, request: Request) -> Response:
        query = read_query(request, google_api.GoogleCallbackQuery)
        after = self.config["CRM"].sync.google.after_connect_url
        try:
            answer = self.sync.google_callback(query.state, query.code, query.error)
        except CrmError as error:
            if not after:
                raise
            return _see_other(after, {"google": "error", "reason": error.detail})
        if after:
            outcome = {"google": answer["status"]}
            if answer.get("reason"):
                outcome["reason"] = answer["reason"]
            return _see_other(after, outcome)
        return json_response(answer)

    @route(
        "GET",
        f"{GOOGLE}/connection",
        summary="Your Google connection: status, last success, why the job last stopped, next run",
        tag="google",
        response=google_api.GoogleConnectionOut,
        errors=(404,),
    )
    def get_google_connection(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.sync.get_google_connection())

    @route(
        "DELETE",
        f"{GOOGLE}/connection",
        summary="Disconnect Google: the links go, the contacts stay on both sides",
        tag="google",
        status=204,
        errors=(403, 404),
    )
    def disconnect_google(self, request: Request) -> Response:
        # A write, as connecting is: read-only users are refused.
        self.auth.caller().require_writer()
        self.sync.disconnect_google()
        return Response(status=204)

    @route(
        "POST",
        f"{GOOGLE}/runs",
        summary="Sync now, both ways (a run already queued or running is answered instead)",
        tag="google",
        response=google_api.GoogleRunStarted,
        status=202,
        errors=(403, 404),
    )
    def start_google_sync(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.sync.start_google_sync(), status=202)

    @route(
        "GET",
        f"{GOOGLE}/runs",
        summary="Your Google sync runs, latest first",
        tag="google",
        query=google_api.GoogleRunListQuery,
        response=google_api.GoogleRunList,
    )
    def list_google_runs(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, google_api.GoogleRunListQuery)
        return json_response(self.sync.list_google_runs(query.limit))

    @route(
        "GET",
        f"{GOOGLE}/runs/<string:run_id>",
        summary="A run and its progress each way",
        tag="google",
        response=google_api.GoogleRunOut,
        errors=(404,),
    )
    def get_google_run(self, request: Request, run_id: str) -> Response:
        self.auth.caller()
        return json_response(self.sync.get_google_run(run_id))

    @route(
        "GET",
        f"{GOOGLE}/runs/<string:run_id>/log",
        summary="What a run did to each contact, or why it skipped it",
        tag="google",
        query=google_api.GoogleLogQuery,
        response=google_api.GoogleLogPage,
        errors=(404,),
    )
    def list_google_run_log(self, request: Request, run_id: str) -> Response:
        self.auth.caller()
        query = read_query(request, google_api.GoogleLogQuery)
        return json_response(self.sync.list_google_run_log(run_id, query.limit, query.cursor))


def _see_other(url: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in url else "?"
    response = Response(status=303)
    response.headers["Location"] = f"{url}{separator}{urlencode(params)}"
    return response
