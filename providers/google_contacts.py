"""Google Contacts through Google's official Python client, at configurable addresses.

The People API is called with ``google-api-python-client`` built from its
bundled discovery document (``static_discovery=True``; no discovery request),
its ``api_endpoint`` set by ``client_options``; the access token comes from a
refresh token through ``google-auth``'s user credentials, refreshed by the
client itself when Google answers 401. The authorization-code exchange is one
form POST to the token endpoint, as Google documents it for web servers.

Google's answers become one of four errors: ``GoogleAccessRevoked`` (the
refresh token is refused: the user revoked access, or the client changed),
``SyncTokenExpired`` (EXPIRED_SYNC_TOKEN: list everything again), ``StaleEtag``
(the person changed since it was read) and ``GoogleApiError`` (any other
refusal; ``retryable`` for 429, 5xx and a network failure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"
# What the sync reads of a person.
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,organizations,biographies,memberships,clientData,metadata"


@dataclass(frozen=True)
class GoogleEndpoints:
    auth_uri: str
    token_uri: str
    revoke_uri: str
    api_endpoint: str

    @classmethod
    def of_sandbox(cls, base_url: str) -> GoogleEndpoints:
        """The provider sandbox answers every Google address on one port, at Google's paths."""
        base = base_url.rstrip("/")
        return cls(f"{base}/o/oauth2/v2/auth", f"{base}/token", f"{base}/revoke", f"{base}/")


GOOGLE = GoogleEndpoints(
    "https://accounts.google.com/o/oauth2/v2/auth",
    "https://oauth2.googleapis.com/token",
    "https://oauth2.googleapis.com/revoke",
    "https://people.googleapis.com/",
)


class GoogleError(Exception):
    """Google refused or did not answer; ``reason`` says it in words for the connection's page."""

    retryable = False

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GoogleAccessRevoked(GoogleError):
    """The refresh token (or the authorization code) is refused: connect the account again."""


class SyncTokenExpired(GoogleError):
    """The sync token is too old (Google keeps them seven days): list everything again."""


class StaleEtag(GoogleError):
    """The person changed in Google since its etag was read."""


class PersonNotFound(GoogleError):
    """The person no longer exists in Google."""


class GoogleApiError(GoogleError):
    def __init__(self, reason: str, *, retryable: bool, status: int | None = None):
        super().__init__(reason)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    scope: str


@dataclass(frozen=True)
class ChangesPage:
    people: list[dict[str, Any]]
    next_page_token: str | None
    next_sync_token: str | None
    total: int


def authorization_url(
    endpoints: GoogleEndpoints, client_id: str, redirect_uri: str, state: str, login_hint: str | None = None
) -> str:
    """Where to send the browser: Google's consent for the contacts scope, offline (a refresh token)."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": CONTACTS_SCOPE,
        "access_type": "offline",
        # A refresh token again even if the user consented before (Google gives one only at consent).
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
    }
    if login_hint:
        params["login_hint"] = login_hint
    return f"{endpoints.auth_uri}?{urlencode(params)}"


def exchange_code(
    endpoints: GoogleEndpoints,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    timeout: float = 20.0,
) -> Grant:
    """Trade the authorization code for a refresh token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        answer = requests.post(endpoints.token_uri, data=form, timeout=timeout)
    except requests.RequestException as error:
        raise GoogleApiError(f"Google's token endpoint did not answer: {error}", retryable=True) from error
    document = _json(answer.text)
    if answer.status_code >= 500:
        raise GoogleApiError(f"Google's token endpoint failed (HTTP {answer.status_code})", retryable=True)
    if answer.status_code != 200 or not document.get("refresh_token"):
        error = document.get("error") or f"HTTP {answer.status_code}"
        described = document.get("error_description") or "no refresh token in the answer"
        raise GoogleAccessRevoked(f"Google refused the authorization: {error}: {described}")
    if CONTACTS_SCOPE not in str(document.get("scope", "")).split():
        raise GoogleAccessRevoked("Google's answer does not grant access to the contacts")
    return Grant(document["refresh_token"], document["scope"])


def revoke(endpoints: GoogleEndpoints, token: str, timeout: float = 10.0) -> bool:
    """End the grant at Google (the user disconnects); False when Google did not take it."""
    try:
        answer = requests.post(endpoints.revoke_uri, data={"token": token}, timeout=timeout)
    except requests.RequestException:
        return False
    return answer.status_code == 200


class PeopleClient:
    """The People API for one Google account, through the official client. Not thread-safe: one
    per job run (httplib2 keeps one connection)."""

    def __init__(
        self,
        endpoints: GoogleEndpoints,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        timeout: float = 20.0,
    ):
        credentials = Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=endpoints.token_uri,
            client_id=client_id,
            client_secret=client_secret,
            scopes=[CONTACTS_SCOPE],
        )
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
        service = build(
            "people",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoints.api_endpoint},
        )
        # Made once: the client builds each resource's methods (and their docstrings) anew per call.
        self._people = service.people()
        self._connections = self._people.connections()
        self._groups_api = service.contactGroups()
        self._members = self._groups_api.members()

    def changes(self, sync_token: str | None, page_token: str | None, page_size: int) -> ChangesPage:
        """One page of the people changed since ``sync_token`` (all of them without one), oldest
        change first; deleted ones come as ``metadata.deleted``. The last page has the next token."""
        params: dict[str, Any] = {
            "resourceName": "people/me",
            "personFields": PERSON_FIELDS,
            "pageSize": page_size,
            "requestSyncToken": True,
        }
        if sync_token:
            params["syncToken"] = sync_token
        if page_token:
            params["pageToken"] = page_token
        answer = _execute(self._connections.list(**params))
        return ChangesPage(
            answer.get("connections", []),
            answer.get("nextPageToken"),
            answer.get("nextSyncToken"),
            int(answer.get("totalItems") or answer.get("totalPeople") or 0),
        )

    def get(self, resource_name: str) -> dict[str, Any]:
        return _execute(self._people.get(resourceName=resource_name, personFields=PERSON_FIELDS))

    def create(self, person: dict[str, Any]) -> dict[str, Any]:
        return _execute(self._people.createContact(body=person, personFields=PERSON_FIELDS))

    def create_many(self, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Make up to 200 contacts in one call (``people.batchCreateContacts``), in order."""
        body = {"contacts": [{"contactPerson": p} for p in people], "readMask": PERSON_FIELDS}
        answer = _execute(self._people.batchCreateContacts(body=body))
        return [made["person"] for made in answer.get("createdPeople", [])]

    def update(
        self, resource_name: str, etag: str, person: dict[str, Any], fields: list[str]
    ) -> dict[str, Any]:
        """Replace ``fields`` of the person, if it is still at ``etag`` (else ``StaleEtag``)."""
        body = {**person, "etag": etag, "metadata": {"sources": [{"type": "CONTACT", "etag": etag}]}}
        request = self._people.updateContact(
            resourceName=resource_name,
            body=body,
            updatePersonFields=",".join(fields),
            personFields=PERSON_FIELDS,
        )
        return _execute(request)

    def group(self, name: str) -> str:
        """The resource name of the contact group (label) called ``name``, made when missing."""
        found = self._group_named(name)
        if found:
            return found
        try:
            created = _execute(self._groups_api.create(body={"contactGroup": {"name": name}}))
        except GoogleApiError as error:
            if error.status != 409:  # made meanwhile by another run: take that one
                raise
            found = self._group_named(name)
            if not found:
                raise
            return found
        return created["resourceName"]

    def add_to_group(self, group: str, resource_names: list[str]) -> None:
        if resource_names:
            body = {"resourceNamesToAdd": resource_names}
            _execute(self._members.modify(resourceName=group, body=body))

    def remove_from_group(self, group: str, resource_names: list[str]) -> None:
        if resource_names:
            body = {"resourceNamesToRemove": resource_names}
            _execute(self._members.modify(resourceName=group, body=body))

    def _group_named(self, name: str) -> str | None:
        for group in self._groups():
            if group.get("name") == name and group.get("groupType") == "USER_CONTACT_GROUP":
                return group["resourceName"]
        return None

    def _groups(self) -> Iterator[dict[str, Any]]:
        page_token = None
        while True:
            answer = _execute(self._groups_api.list(pageSize=200, pageToken=page_token))
            yield from answer.get("contactGroups", [])
            page_token = answer.get("nextPageToken")
            if not page_token:
                return


def _execute(request: Any) -> dict[str, Any]:
    try:
        return request.execute()
    except HttpError as error:
        raise _refusal(error) from error
    except google.auth.exceptions.RefreshError as error:
        if getattr(error, "retryable", False):
            raise GoogleApiError(
                f"Google could not refresh the access token: {error}", retryable=True
            ) from error
        raise GoogleAccessRevoked(f"Google refused the refresh token ({_refresh_reason(error)})") from error
    except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error, OSError) as error:
        raise GoogleApiError(f"Google did not answer: {error}", retryable=True) from error


def _refusal(error: HttpError) -> GoogleError:
    status = int(error.resp.status)
    document = _json(error.content.decode("utf-8", "replace") if error.content else "").get("error") or {}
    if not isinstance(document, dict):
        document = {}
    message = document.get("message") or error.reason or f"HTTP {status}"
    reasons = {d.get("reason") for d in document.get("details") or [] if isinstance(d, dict)}
    if "EXPIRED_SYNC_TOKEN" in reasons:
        return SyncTokenExpired(message)
    if document.get("status") == "FAILED_PRECONDITION":
        return StaleEtag(message)
    if status == 404:
        return PersonNotFound(message)
    if status in (401, 403):
        return GoogleAccessRevoked(f"Google refused access (HTTP {status}): {message}")
    return GoogleApiError(
        f"People API HTTP {status}: {message}", retryable=status == 429 or status >= 500, status=status
    )


def _refresh_reason(error: Exception) -> str:
    detail = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    if detail.get("error"):
        return f"{detail['error']}: {detail.get('error_description', '')}".rstrip(": ")
    return str(error.args[0]) if error.args else "no reason given"


def _json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
