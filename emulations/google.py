"""Google, as contact sync sees it: OAuth 2.0 (``google_oauth``) and the People API
(``google_people``) over one store (``google_store``), plus the sandbox's own doors for tests
and demos (``/_sandbox/google/...``): what a user does in their Google account that no API
call of ours does (revoke the CRM's access, delete a contact), and Google's bad days (expired
sync tokens, access tokens past their hour, failing calls).
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.google_oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OAuthEmulation
from emulations.google_people import CONTACT_FIELDS, PeopleEmulation, person_out
from emulations.google_store import GoogleStore
from emulations.http import json_response

HOOKS = "/_sandbox/google/accounts/<email>"


class GoogleEmulation:
    def __init__(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET):
        self.store = GoogleStore()
        self.oauth = OAuthEmulation(self.store, client_id, client_secret)
        self.people = PeopleEmulation(self.store)

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    def rules(self) -> list[Rule]:
        return [
            *self.oauth.rules(),
            *self.people.rules(),
            Rule(f"{HOOKS}/people", methods=["GET"], endpoint=self._list_people),
            Rule(f"{HOOKS}/people/<person_id>/delete", methods=["POST"], endpoint=self._delete_person),
            Rule(f"{HOOKS}/revoke", methods=["POST"], endpoint=self._revoke),
            Rule(f"{HOOKS}/expire-sync-tokens", methods=["POST"], endpoint=self._expire_sync_tokens),
            Rule(f"{HOOKS}/expire-access-tokens", methods=["POST"], endpoint=self._expire_access_tokens),
            Rule(f"{HOOKS}/failures", methods=["POST"], endpoint=self._failures),
        ]

    # -- what tests do in-process ---------------------------------------------------------------------

    def people_of(self, email: str) -> list[dict[str, Any]]:
        """Every living contact of the account, as Google answers it with every field."""
        with self.store.lock:
            account = self.store.account(email)
            fields = {*CONTACT_FIELDS, "metadata"}
            return [person_out(p, fields, self.store) for p in account.people.values() if not p.deleted]

    def delete_person(self, email: str, person_id: str) -> bool:
        with self.store.lock:
            account = self.store.account(email)
            person = account.people.get(person_id.removeprefix("people/"))
            if person is None or person.deleted:
                return False
            person.deleted = True
            person.changed(account.next_seq())
            return True

    def revoke_account(self, email: str) -> int:
        return self.store.revoke_account(email)

    def expire_sync_tokens(self, email: str) -> None:
        with self.store.lock:
            for token in self.store.account(email).sync_tokens.values():
                token.expired = True

    def fail_next_calls(self, email: str, statuses: list[int]) -> None:
        with self.store.lock:
            self.store.account(email).failures.extend(statuses)

    def requests_of(self, email: str) -> int:
        """People API calls the account answered (for the benchmark's cost per contact)."""
        with self.store.lock:
            return self.store.account(email).requests

    # -- the same over HTTP, for a system that runs `crm sandbox` in another process ---------------------

    def _list_people(self, request: Request, email: str) -> Response:
        return json_response(200, {"people": self.people_of(email)})

    def _delete_person(self, request: Request, email: str, person_id: str) -> Response:
        return json_response(200 if self.delete_person(email, person_id) else 404, {})

    def _revoke(self, request: Request, email: str) -> Response:
        return json_response(200, {"revoked_grants": self.revoke_account(email)})

    def _expire_sync_tokens(self, request: Request, email: str) -> Response:
        self.expire_sync_tokens(email)
        return json_response(200, {})

    def _expire_access_tokens(self, request: Request, email: str) -> Response:
        self.store.expire_access_tokens(email)
        return json_response(200, {})

    def _failures(self, request: Request, email: str) -> Response:
        try:
            statuses = [int(s) for s in json.loads(request.get_data() or b"{}").get("statuses", [])]
        except (ValueError, TypeError, AttributeError):
            return json_response(400, {"message": 'expected {"statuses": [503, ...]}'})
        self.fail_next_calls(email, statuses)
        return json_response(200, {})
