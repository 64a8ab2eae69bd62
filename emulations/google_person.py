"""People API persons as the emulation keeps and answers them: the fields it knows, a person's
answer in Google's shape, a client's fields checked and cleaned, and Google's error answer."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from emulations.google_store import MY_CONTACTS, Account, GoogleStore, StoredPerson
from emulations.http import json_response

# The contact fields this emulation keeps; a request may name others, which stay empty.
CONTACT_FIELDS = (
    "names",
    "emailAddresses",
    "phoneNumbers",
    "organizations",
    "biographies",
    "memberships",
    "clientData",
)
KNOWN_PERSON_FIELDS = frozenset(
    (
        *CONTACT_FIELDS,
        "metadata",
        "addresses",
        "birthdays",
        "urls",
        "nicknames",
        "photos",
        "relations",
        "userDefined",
        "events",
        "externalIds",
    )
)
SINGLETONS = ("names", "biographies")
FORMATTED_TYPES = {
    "home": "Home",
    "work": "Work",
    "other": "Other",
    "mobile": "Mobile",
    "main": "Main",
    "workMobile": "Work Mobile",
    "homeFax": "Home Fax",
    "workFax": "Work Fax",
}
STALE_ETAG = (
    "Request person.etag is different than the current person.etag. Clear local cache and get the "
    "latest person."
)
EXPIRED_SYNC_TOKEN = "Sync token is expired. Clear local cache and retry call without the sync token."
BAD_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED"}
GOOGLE_STATUS.update({500: "INTERNAL", 503: "UNAVAILABLE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"})


class GoogleApiRefusal(Exception):
    def __init__(self, code: int, message: str, status: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or GOOGLE_STATUS.get(code, "UNKNOWN")
        self.reason = reason

    def response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.reason,
                    "domain": "people.googleapis.com",
                }
            ]
        response = json_response(self.code, {"error": error})
        if self.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return response


def person_out(person: StoredPerson, fields: set[str], store: GoogleStore) -> dict[str, Any]:
    """The person as Google answers it, with only the asked ``fields`` (resourceName and etag always)."""
    out: dict[str, Any] = {"resourceName": person.resource_name, "etag": person.etag}
    source = {"type": "CONTACT", "id": person.source_id}
    if person.deleted:
        out["metadata"] = {"sources": [source], "deleted": True, "objectType": "PERSON"}
        return out
    if "metadata" in fields:
        described = {**source, "etag": person.source_etag, "updateTime": store.timestamp(person.update_time)}
        out["metadata"] = {"sources": [described], "objectType": "PERSON"}
    for name in CONTACT_FIELDS:
        if name in fields and person.fields.get(name):
            out[name] = [
                _entry_out(name, entry, position, source)
                for position, entry in enumerate(person.fields[name])
            ]
    return out


def _entry_out(name: str, entry: dict[str, Any], position: int, source: dict[str, str]) -> dict[str, Any]:
    out = {
        "metadata": {"source": source}
        if name == "memberships"
        else {"primary": position == 0, "source": source}
    }
    out.update(entry)
    if name in ("emailAddresses", "phoneNumbers") and entry.get("type"):
        out["formattedType"] = FORMATTED_TYPES.get(entry["type"], entry["type"])
    if name == "phoneNumbers" and str(entry.get("value", "")).startswith("+"):
        out["canonicalForm"] = "+" + "".join(c for c in entry["value"] if c.isdigit())
    if name == "names":
        given, family = entry.get("givenName", ""), entry.get("familyName", "")
        out["displayName"] = out["unstructuredName"] = " ".join(x for x in (given, family) if x)
        out["displayNameLastFirst"] = ", ".join(x for x in (family, given) if x)
    if name == "biographies":
        out.setdefault("contentType", "TEXT_PLAIN")
    return out


def new_contact_fields(body: dict[str, Any], account: Account) -> dict[str, Any]:
    """A new contact's fields; it is in My Contacts whatever other groups it is put in."""
    stored = contact_fields(body, CONTACT_FIELDS, account)
    groups = [m for m in stored.get("memberships", []) if "contactGroupMembership" in m]
    if MY_CONTACTS not in {m["contactGroupMembership"]["contactGroupResourceName"] for m in groups}:
        groups.append(membership(MY_CONTACTS))
    stored["memberships"] = groups
    return stored


def contact_fields(body: dict[str, Any], names: Any, account: Account) -> dict[str, Any]:
    """The fields a client sent, as kept: output-only parts dropped, shapes checked."""
    kept: dict[str, Any] = {}
    for name in names:
        entries = body.get(name)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise GoogleApiRefusal(400, f"Invalid value at 'person.{name}': expected a list of objects.")
        if name in SINGLETONS and len(entries) > 1:
            raise GoogleApiRefusal(
                400, f"Only one {name[:-1] if name != 'biographies' else 'biography'} is allowed."
            )
        cleaned = []
        for entry in entries:
            entry = {k: v for k, v in entry.items() if k not in _OUTPUT_ONLY}
            if name == "memberships":
                group = (entry.get("contactGroupMembership") or {}).get("contactGroupResourceName")
                if not group or group.removeprefix("contactGroups/") not in account.groups:
                    raise GoogleApiRefusal(400, f"Contact group resource name is invalid: {group}.")
                entry = membership(group)
            cleaned.append(entry)
        kept[name] = cleaned
    return kept


_OUTPUT_ONLY = {
    "metadata",
    "formattedType",
    "canonicalForm",
    "displayName",
    "displayNameLastFirst",
    "unstructuredName",
}


def membership(group: str) -> dict[str, Any]:
    return {
        "contactGroupMembership": {
            "contactGroupId": group.removeprefix("contactGroups/"),
            "contactGroupResourceName": group,
        }
    }
