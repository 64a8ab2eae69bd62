"""What the Google emulation remembers: accounts, their contacts and contact groups, their grants.

An account is a Google user (by e-mail) who consented to an OAuth client. Each
change to one of its people takes the next number of the account's change log,
so a sync token is simply "the changes after number N" and a listing pages by
that number (Google's LAST_MODIFIED_ASCENDING order). Deleted people stay as
tombstones, so an incremental listing can say ``metadata.deleted``. Nothing
here speaks HTTP: ``google_oauth`` and ``google_people`` answer from it.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Google lets a sync token live seven days after the full sync it came from.
SYNC_TOKEN_SECONDS = 7 * 24 * 3600
ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
MY_CONTACTS = "contactGroups/myContacts"
SYSTEM_GROUPS = {"myContacts": "My Contacts", "starred": "Starred", "all": "All Contacts"}
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"


def _etag(mark: str, size: int) -> str:
    return mark + base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class StoredPerson:
    """One contact: ``fields`` holds the Person's contact fields as Google keeps them."""

    person_id: str  # c1234567890123456789
    source_id: str  # the CONTACT source's id, hex
    fields: dict[str, Any]
    seq: int
    etag: str = field(default_factory=lambda: _etag("%", 24))
    source_etag: str = field(default_factory=lambda: _etag("#", 9))
    update_time: float = field(default_factory=time.time)
    deleted: bool = False

    @property
    def resource_name(self) -> str:
        return f"people/{self.person_id}"

    def changed(self, seq: int) -> None:
        self.seq = seq
        self.etag, self.source_etag = _etag("%", 24), _etag("#", 9)
        self.update_time = time.time()

    def group_names(self) -> list[str]:
        return [
            m["contactGroupMembership"]["contactGroupResourceName"]
            for m in self.fields.get("memberships", [])
            if "contactGroupMembership" in m
        ]


@dataclass
class StoredGroup:
    resource_name: str
    name: str
    group_type: str = "USER_CONTACT_GROUP"
    etag: str = field(default_factory=lambda: _etag("", 9))
    update_time: float = field(default_factory=time.time)


@dataclass
class SyncToken:
    seq: int
    issued_at: float
    full_sync_at: float  # the full sync this token descends from: Google's seven days count from it
    expired: bool = False


@dataclass
class Account:
    """A Google account: its people, groups and the numbers of its change log."""

    email: str
    people: dict[str, StoredPerson] = field(default_factory=dict)
    groups: dict[str, StoredGroup] = field(default_factory=dict)
    seq: int = 0
    sync_tokens: dict[str, SyncToken] = field(default_factory=dict)
    # People API calls still to fail, each an HTTP status (the test's "Google is down").
    failures: list[int] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        for group_id, name in SYSTEM_GROUPS.items():
            self.groups[group_id] = StoredGroup(f"contactGroups/{group_id}", name, "SYSTEM_CONTACT_GROUP")

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def new_person(self, fields: dict[str, Any]) -> StoredPerson:
        person_id = "c" + str(secrets.randbelow(9 * 10**18) + 10**18)
        person = StoredPerson(person_id, secrets.token_hex(8), fields, self.next_seq())
        self.people[person_id] = person
        return person

    def changes_after(self, seq: int, upto: int, *, live_only: bool) -> list[StoredPerson]:
        """People changed after ``seq`` up to ``upto``, oldest change first."""
        found = [p for p in self.people.values() if seq < p.seq <= upto and not (live_only and p.deleted)]
        return sorted(found, key=lambda p: p.seq)

    def issue_sync_token(self, upto: int, full_sync_at: float) -> str:
        token = "EN" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode("ascii").rstrip("=")
        self.sync_tokens[token] = SyncToken(upto, time.time(), full_sync_at)
        return token

    def group_named(self, name: str) -> StoredGroup | None:
        return next((g for g in self.groups.values() if g.name == name), None)

    def member_count(self, resource_name: str) -> int:
        return sum(1 for p in self.people.values() if not p.deleted and resource_name in p.group_names())


@dataclass
class Grant:
    """What an OAuth client was allowed by an account: refresh token and the access tokens from it."""

    account: str
    client_id: str
    scope: str
    refresh_token: str
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class AuthorizationCode:
    grant_account: str
    client_id: str
    redirect_uri: str
    scope: str
    expires_at: float


class GoogleStore:
    """Every account, grant and token; one lock, since emulation requests run in green threads."""

    def __init__(self, now: Any = time.time) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: dict[str, Grant] = {}  # by refresh token
        self.access_tokens: dict[str, AccessToken] = {}
        self.now = now

    def account(self, email: str) -> Account:
        with self.lock:
            email = email.lower()
            if email not in self.accounts:
                self.accounts[email] = Account(email)
            return self.accounts[email]

    # -- OAuth ---------------------------------------------------------------------------------------

    def issue_code(self, account: str, client_id: str, redirect_uri: str, scope: str) -> str:
        code = "4/0A" + secrets.token_urlsafe(40)
        with self.lock:
            self.account(account)
            self.codes[code] = AuthorizationCode(
                account.lower(), client_id, redirect_uri, scope, self.now() + CODE_SECONDS
            )
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> Grant | None:
        """The grant a code stands for, once; None if unknown, used, expired or for another client."""
        with self.lock:
            issued = self.codes.pop(code, None)
            if (
                issued is None
                or issued.expires_at < self.now()
                or issued.client_id != client_id
                or issued.redirect_uri != redirect_uri
            ):
                return None
            grant = Grant(issued.grant_account, client_id, issued.scope, "1//0g" + secrets.token_urlsafe(64))
            self.grants[grant.refresh_token] = grant
            return grant

    def grant_of(self, refresh_token: str, client_id: str) -> Grant | None:
        with self.lock:
            grant = self.grants.get(refresh_token)
            if grant is None or grant.revoked or grant.client_id != client_id:
                return None
            return grant

    def issue_access_token(self, grant: Grant) -> str:
        token = "ya29.a0" + secrets.token_urlsafe(90)
        with self.lock:
            self.access_tokens[token] = AccessToken(grant, self.now() + ACCESS_TOKEN_SECONDS)
        return token

    def account_of_access_token(self, token: str) -> Account | None:
        with self.lock:
            issued = self.access_tokens.get(token)
            if issued is None or issued.grant.revoked or issued.expires_at < self.now():
                return None
            return self.account(issued.grant.account)

    def revoke_token(self, token: str) -> bool:
        """Google's revoke endpoint: a refresh token, or an access token, ends its whole grant."""
        with self.lock:
            grant = self.grants.get(token)
            if grant is None and token in self.access_tokens:
                grant = self.access_tokens[token].grant
            if grant is None or grant.revoked:
                return False
            grant.revoked = True
            return True

    def revoke_account(self, email: str) -> int:
        """The user removed the app's access in their Google account: every grant of it ends."""
        with self.lock:
            ended = [g for g in self.grants.values() if g.account == email.lower() and not g.revoked]
            for grant in ended:
                grant.revoked = True
            return len(ended)

    def expire_access_tokens(self, email: str) -> None:
        """Every access token of the account is past its hour: the client must refresh."""
        with self.lock:
            for issued in self.access_tokens.values():
                if issued.grant.account == email.lower():
                    issued.expires_at = 0

    # -- people --------------------------------------------------------------------------------------

    def timestamp(self, moment: float) -> str:
        return _rfc3339(moment)
