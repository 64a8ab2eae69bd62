"""Google's People API (v1), the part contact sync uses: people.connections.list with page and
sync tokens, people.get, people.createContact, people.updateContact with etags, contactGroups
list and create, contactGroups.members.modify.

Answers in Google's JSON shapes (``people/c…`` resource names, ``etag``,
``metadata.sources``, typed e-mails and phones with ``formattedType``,
``memberships``) and Google's errors (``{"error": {"code", "message",
"status"}}``): a stale etag is 400 FAILED_PRECONDITION, an expired sync token
410 with an ErrorInfo of reason EXPIRED_SYNC_TOKEN (Google has also been seen
to answer that one 400: clients go by the reason), a missing or dead access
token 401 UNAUTHENTICATED. The official client (googleapiclient with its
bundled discovery document) is the reference for the paths.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.google_person import (
    BAD_CREDENTIALS,
    CONTACT_FIELDS,
    EXPIRED_SYNC_TOKEN,
    KNOWN_PERSON_FIELDS,
    STALE_ETAG,
    GoogleApiRefusal,
    contact_fields,
    membership,
    new_contact_fields,
    person_out,
)
from emulations.google_store import SYNC_TOKEN_SECONDS, Account, GoogleStore, StoredPerson
from emulations.http import json_response


class PeopleEmulation:
    def __init__(self, store: GoogleStore):
        self.store = store

    def rules(self) -> list[Rule]:
        def api(path: str, method: str, handler: Any) -> Rule:
            return Rule(path, methods=[method], endpoint=self._authorized(handler))

        return [
            api("/v1/people/me/connections", "GET", self.list_connections),
            api("/v1/people:createContact", "POST", self.create_contact),
            api("/v1/people:batchCreateContacts", "POST", self.batch_create_contacts),
            api("/v1/people/<person_id>:updateContact", "PATCH", self.update_contact),
            api("/v1/people/<person_id>", "GET", self.get_person),
            api("/v1/contactGroups", "GET", self.list_groups),
            api("/v1/contactGroups", "POST", self.create_group),
            api("/v1/contactGroups/<group_id>/members:modify", "POST", self.modify_members),
        ]

    def _authorized(self, handler: Any) -> Any:
        def endpoint(request: Request, **arguments: Any) -> Response:
            header = request.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else ""
            try:
                account = self.store.account_of_access_token(token) if token else None
                if account is None:
                    raise GoogleApiRefusal(401, BAD_CREDENTIALS)
                with self.store.lock:
                    account.requests += 1
                    if account.failures:
                        code = account.failures.pop(0)
                        raise GoogleApiRefusal(code, "The service is currently unavailable.")
                    return json_response(200, handler(request, account, **arguments))
            except GoogleApiRefusal as refusal:
                return refusal.response()

        return endpoint

    # -- people ---------------------------------------------------------------------------------------

    def list_connections(self, request: Request, account: Account) -> dict[str, Any]:
        fields = _person_fields(request, required=True)
        args = request.args
        page_size = _int(args.get("pageSize"), 100, "pageSize")
        if not 0 <= page_size <= 1000:
            raise GoogleApiRefusal(400, "Page size must be between 1 and 1000.")
        page_size = page_size or 100
        asked = {k: v for k, v in sorted(args.items(multi=True)) if k not in ("pageToken", "syncToken")}
        fingerprint = hashlib.sha256(json.dumps(asked).encode()).hexdigest()[:16]
        sync_token = args.get("syncToken")
        if args.get("pageToken"):
            since, upto, after, full_at, signed = _read_page_token(args["pageToken"])
            if signed != fingerprint:
                raise GoogleApiRefusal(
                    400, "Parameters provided with a page token must match the first call."
                )
        elif sync_token:
            issued = account.sync_tokens.get(sync_token)
            if issued is None:
                raise GoogleApiRefusal(400, "Sync token is invalid.", reason="INVALID_SYNC_TOKEN")
            if issued.expired or time.time() - issued.full_sync_at > SYNC_TOKEN_SECONDS:
                raise GoogleApiRefusal(
                    410, EXPIRED_SYNC_TOKEN, status="FAILED_PRECONDITION", reason="EXPIRED_SYNC_TOKEN"
                )
            since, upto, after, full_at = issued.seq, account.seq, issued.seq, issued.full_sync_at
        else:
            since, upto, after, full_at = 0, account.seq, 0, time.time()
        # An incremental listing also answers the deleted (as tombstones); a full one only the living.
        incremental = since > 0 or bool(sync_token)
        listed = account.changes_after(since, upto, live_only=not incremental)
        page = [p for p in listed if p.seq > after][:page_size]
        answer: dict[str, Any] = {
            "connections": [person_out(p, fields, self.store) for p in page],
            "totalPeople": len(listed),
            "totalItems": len(listed),
        }
        if page and page[-1].seq < listed[-1].seq:
            answer["nextPageToken"] = _page_token(since, upto, page[-1].seq, full_at, fingerprint)
        elif args.get("requestSyncToken") == "true" or sync_token or args.get("pageToken"):
            answer["nextSyncToken"] = account.issue_sync_token(upto, full_at)
        if not answer["connections"]:
            del answer["connections"]  # Google leaves empty lists out
        return answer

    def get_person(self, request: Request, account: Account, person_id: str) -> dict[str, Any]:
        person = _live_person(account, person_id)
        return person_out(person, _person_fields(request, required=True), self.store)

    def create_contact(self, request: Request, account: Account) -> dict[str, Any]:
        body = _json_object(request)
        fields = _person_fields(request, required=False)
        return person_out(account.new_person(new_contact_fields(body, account)), fields, self.store)

    def batch_create_contacts(self, request: Request, account: Account) -> dict[str, Any]:
        """Up to 200 contacts in one call, each checked before any is made (Google's batch is whole)."""
        body = _json_object(request)
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise GoogleApiRefusal(400, "Request must contain at least one contact.")
        if len(contacts) > 200:
            raise GoogleApiRefusal(400, "Too many contacts in the request: at most 200.")
        mask = str(body.get("readMask") or "")
        fields = {f for f in mask.split(",") if f} or set(KNOWN_PERSON_FIELDS)
        if fields - KNOWN_PERSON_FIELDS:
            raise GoogleApiRefusal(
                400, f'Invalid readMask path: "{sorted(fields - KNOWN_PERSON_FIELDS)[0]}".'
            )
        prepared = []
        for entry in contacts:
            person = entry.get("contactPerson") if isinstance(entry, dict) else None
            if not isinstance(person, dict):
                raise GoogleApiRefusal(400, "Each contact must have a contactPerson.")
            prepared.append(new_contact_fields(person, account))
        created = [account.new_person(stored) for stored in prepared]
        return {
            "createdPeople": [
                {"httpStatusCode": 200, "person": person_out(p, fields, self.store), "status": {}}
                for p in created
            ]
        }

    def update_contact(self, request: Request, account: Account, person_id: str) -> dict[str, Any]:
        person = _live_person(account, person_id)
        body = _json_object(request)
        mask = [f for f in (request.args.get("updatePersonFields") or "").split(",") if f]
        if not mask:
            raise GoogleApiRefusal(400, "updatePersonFields mask is required. Please specify one or more.")
        unknown = [f for f in mask if f not in KNOWN_PERSON_FIELDS or f == "metadata"]
        if unknown:
            raise GoogleApiRefusal(400, f'Invalid updatePersonFields mask path: "{unknown[0]}".')
        sources = (body.get("metadata") or {}).get("sources") or []
        etags = [s.get("etag") for s in sources if s.get("type", "CONTACT") == "CONTACT" and s.get("etag")]
        given = etags[0] if etags else body.get("etag")
        if not given:
            raise GoogleApiRefusal(400, "Request must set person.etag or person.metadata.sources.etag.")
        if given not in (person.etag, person.source_etag):
            raise GoogleApiRefusal(400, STALE_ETAG, status="FAILED_PRECONDITION")
        changes = contact_fields(body, [f for f in mask if f in CONTACT_FIELDS], account)
        if "memberships" in mask and not changes.get("memberships"):
            raise GoogleApiRefusal(400, "Contact must have at least one contact group membership.")
        for name in mask:
            if name in CONTACT_FIELDS:
                if changes.get(name):
                    person.fields[name] = changes[name]
                else:
                    person.fields.pop(name, None)
        person.changed(account.next_seq())
        return person_out(person, _person_fields(request, required=False), self.store)

    # -- contact groups -------------------------------------------------------------------------------

    def list_groups(self, request: Request, account: Account) -> dict[str, Any]:
        page_size = _int(request.args.get("pageSize"), 30, "pageSize") or 30
        start = _int(request.args.get("pageToken"), 0, "pageToken")
        groups = sorted(
            account.groups.values(), key=lambda g: (g.group_type != "SYSTEM_CONTACT_GROUP", g.name)
        )
        page = groups[start : start + page_size]
        answer: dict[str, Any] = {
            "contactGroups": [self._group_out(account, g) for g in page],
            "totalItems": len(groups),
        }
        if start + page_size < len(groups):
            answer["nextPageToken"] = str(start + page_size)
        else:
            answer["nextSyncToken"] = "EP" + base64.urlsafe_b64encode(str(account.seq).encode()).decode()
        return answer

    def create_group(self, request: Request, account: Account) -> dict[str, Any]:
        group = _json_object(request).get("contactGroup") or {}
        name = group.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GoogleApiRefusal(400, "Contact group name must not be empty.")
        if account.group_named(name.strip()) is not None:
            raise GoogleApiRefusal(409, "Contact group name already exists.")
        group_id = hashlib.sha1(f"{account.email}/{name}/{time.time()}".encode()).hexdigest()[:14]
        from emulations.google_store import StoredGroup

        stored = StoredGroup(f"contactGroups/{group_id}", name.strip())
        account.groups[group_id] = stored
        return self._group_out(account, stored)

    def modify_members(self, request: Request, account: Account, group_id: str) -> dict[str, Any]:
        group = account.groups.get(group_id)
        if group is None:
            raise GoogleApiRefusal(404, "Requested entity was not found.")
        body = _json_object(request)
        answer: dict[str, list[str]] = {}
        for names, adding in (
            (body.get("resourceNamesToAdd") or [], True),
            (body.get("resourceNamesToRemove") or [], False),
        ):
            for resource_name in names:
                person = account.people.get(str(resource_name).removeprefix("people/"))
                if person is None or person.deleted:
                    answer.setdefault("notFoundResourceNames", []).append(resource_name)
                    continue
                present = group.resource_name in person.group_names()
                if adding and not present:
                    person.fields.setdefault("memberships", []).append(membership(group.resource_name))
                elif not adding and present:
                    kept = [
                        m
                        for m in person.fields["memberships"]
                        if m.get("contactGroupMembership", {}).get("contactGroupResourceName")
                        != group.resource_name
                    ]
                    if not kept:
                        answer.setdefault("canNotRemoveLastContactGroupResourceNames", []).append(
                            resource_name
                        )
                        continue
                    person.fields["memberships"] = kept
                else:
                    continue
                person.changed(account.next_seq())
        return answer

    def _group_out(self, account: Account, group: Any) -> dict[str, Any]:
        return {
            "resourceName": group.resource_name,
            "etag": group.etag,
            "metadata": {"updateTime": self.store.timestamp(group.update_time)},
            "groupType": group.group_type,
            "name": group.name,
            "formattedName": group.name,
            "memberCount": account.member_count(group.resource_name),
        }


# -- the Person's shape ----------------------------------------------------------------------------------


def _live_person(account: Account, person_id: str) -> StoredPerson:
    person = account.people.get(person_id)
    if person is None or person.deleted:
        raise GoogleApiRefusal(404, "Requested entity was not found.")
    return person


def _person_fields(request: Request, *, required: bool) -> set[str]:
    mask = request.args.get("personFields") or request.args.get("readMask") or ""
    fields = {f for f in mask.split(",") if f}
    if not fields:
        if required:
            raise GoogleApiRefusal(
                400,
                "personFields mask is required. Please specify one or more valid paths. Valid paths are "
                "documented at https://developers.google.com/people/api/rest/v1/people.connections/list.",
            )
        return set(KNOWN_PERSON_FIELDS)
    unknown = sorted(fields - KNOWN_PERSON_FIELDS)
    if unknown:
        raise GoogleApiRefusal(400, f'Invalid personFields mask path: "{unknown[0]}".')
    return fields


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise GoogleApiRefusal(400, "Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise GoogleApiRefusal(400, "Invalid JSON payload received. Expected an object.")
    return body


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise GoogleApiRefusal(400, f"Invalid value at '{name}' (TYPE_INT32), \"{value}\"") from None


def _page_token(since: int, upto: int, after: int, full_at: float, fingerprint: str) -> str:
    raw = json.dumps([since, upto, after, full_at, fingerprint]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_page_token(token: str) -> tuple[int, int, int, float, str]:
    try:
        since, upto, after, full_at, fingerprint = json.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        )
        return int(since), int(upto), int(after), float(full_at), str(fingerprint)
    except (ValueError, TypeError):
        raise GoogleApiRefusal(400, "Page token is invalid.") from None
