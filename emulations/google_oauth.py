"""Google's OAuth 2.0 for a web server application: the consent page, the token endpoint, revocation.

- ``GET /o/oauth2/v2/auth`` stands for the consent screen: the sandbox's user
  always consents, as the Google account named by ``login_hint`` (else
  ``DEFAULT_ACCOUNT``), and the browser is sent back to ``redirect_uri`` with
  ``code`` and ``state``, as Google does;
- ``POST /token`` trades a code (``authorization_code``) or a refresh token
  (``refresh_token``) for an access token, answering Google's JSON and its
  errors (``invalid_client`` 401, ``invalid_grant`` 400 "Token has been
  expired or revoked.");
- ``POST /revoke`` ends a grant.

The client id and secret are checked like Google does; the defaults match
``crm.service_settings``' sandbox defaults.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.google_store import ACCESS_TOKEN_SECONDS, CONTACTS_SCOPE, GoogleStore
from emulations.http import json_response, same

DEFAULT_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "sandbox-google-client-secret"
DEFAULT_ACCOUNT = "sandbox.user@gmail.test"


class OAuthEmulation:
    def __init__(self, store: GoogleStore, client_id: str, client_secret: str):
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret

    def rules(self) -> list[Rule]:
        return [
            Rule("/o/oauth2/v2/auth", methods=["GET"], endpoint=self.consent),
            Rule("/token", methods=["POST"], endpoint=self.token),
            Rule("/revoke", methods=["POST"], endpoint=self.revoke),
        ]

    def consent(self, request: Request) -> Response:
        args = request.args
        redirect_uri = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id:
            return _error_page(401, "invalid_client", "The OAuth client was not found.")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return _error_page(400, "invalid_request", "Invalid parameter value for redirect_uri.")
        if args.get("response_type") != "code":
            return _error_page(400, "unsupported_response_type", "Only response_type=code is emulated.")
        scope = args.get("scope", "")
        if CONTACTS_SCOPE not in scope.split():
            return _error_page(400, "invalid_scope", f"Some requested scopes were invalid: {scope!r}.")
        code = self.store.issue_code(
            args.get("login_hint") or DEFAULT_ACCOUNT, self.client_id, redirect_uri, scope
        )
        answer = {"code": code, "scope": scope}
        if "state" in args:
            answer = {"state": args["state"], **answer}
        separator = "&" if "?" in redirect_uri else "?"
        response = Response(status=302)
        response.headers["Location"] = f"{redirect_uri}{separator}{urlencode(answer)}"
        return response

    def token(self, request: Request) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization is not None:
            client_id, client_secret = request.authorization.username, request.authorization.password
        if client_id != self.client_id or not same(client_secret, self.client_secret):
            return json_response(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.store.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri", ""))
            if grant is None:
                return json_response(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return json_response(200, {**self._access(grant), "refresh_token": grant.refresh_token})
        if grant_type == "refresh_token":
            grant = self.store.grant_of(form.get("refresh_token", ""), client_id)
            if grant is None:
                return json_response(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            return json_response(200, self._access(grant))
        return json_response(
            400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant_type}"}
        )

    def revoke(self, request: Request) -> Response:
        token = request.form.get("token") or request.args.get("token") or ""
        if not self.store.revoke_token(token):
            return json_response(
                400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            )
        return json_response(200, {})

    def _access(self, grant: Any) -> dict[str, Any]:
        return {
            "access_token": self.store.issue_access_token(grant),
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": grant.scope,
            "token_type": "Bearer",
        }


def _error_page(status: int, error: str, description: str) -> Response:
    # Google shows an HTML page to the person; the JSON here says the same to a test.
    return json_response(status, {"error": error, "error_description": description})
