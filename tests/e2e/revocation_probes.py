"""Probes of one access token against every service: each service on its own, over RPC
(as the gateway or another service would call it), and the gateway over HTTP.

Used by the revocation tests and by ``bench/revocation.py``, which prints the
measured delay from a revocation to its refusal in each service.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from nameko.standalone.rpc import ClusterRpcProxy

import services.accounts.exceptions  # noqa: F401  accounts' errors deserialise as themselves
from crm.errors import AdminOnly, CrmError, Forbidden, ReadOnlyUser, ServiceUnavailable, Unauthenticated

ACCEPTED = "accepted"
GATEWAY_ACTIONS = ("read", "write", "admin write")
UNAUTHENTICATED = "401"
FORBIDDEN = "403"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Probe:
    service: str
    action: str  # "read", "write" or "admin write"
    call: Callable[[Any], Any]  # given the cluster proxy


PROBES = (
    Probe("accounts", "read", lambda c: c.accounts.get_me()),
    Probe("accounts", "write", lambda c: c.accounts.update_me({"time_zone": "Europe/Paris"})),
    Probe("accounts", "admin write", lambda c: c.accounts.update_settings({})),
    Probe("contacts", "read", lambda c: c.contacts.search_contacts()),
    Probe("contacts", "write", lambda c: c.contacts.create_contact({"last_name": _unique("Durand")})),
    Probe("interactions", "read", lambda c: c.interactions.list_interactions({})),
    Probe("interactions", "write", lambda c: c.interactions.create_project({"name": _unique("Salon")})),
    Probe(
        "interactions",
        "admin write",
        lambda c: c.interactions.create_resource({"name": _unique("Chambre 404"), "kind": "room"}),
    ),
    Probe("messaging", "read", lambda c: c.messaging.get_credits()),
    Probe(
        "messaging",
        "admin write",
        lambda c: c.messaging.purchase_credits({"credits": 1000, "reference": _unique("facture")}),
    ),
    Probe("notifier", "read", lambda c: c.notifier.list_notifications()),
    Probe("notifier", "write", lambda c: c.notifier.update_preferences({"email_copy": True})),
)


def outcome_of(error: Exception | None) -> str:
    if error is None:
        return ACCEPTED
    if isinstance(error, Unauthenticated):
        return UNAUTHENTICATED
    if isinstance(error, ReadOnlyUser | AdminOnly | Forbidden):
        return FORBIDDEN
    if isinstance(error, ServiceUnavailable):
        return "503"
    return f"{type(error).__name__}: {error}"


class TokenProbes:
    """One access token, tried against each service directly and against the gateway."""

    def __init__(self, amqp_config: dict[str, Any], base_url: str, token: str):
        self.base_url = base_url
        self.token = token
        self._proxy = ClusterRpcProxy(amqp_config, context_data={"access_token": token}, timeout=10)
        self._cluster = self._proxy.start()
        self._http = requests.Session()

    def close(self) -> None:
        self._proxy.stop()
        self._http.close()

    def rpc(self, probe: Probe) -> str:
        try:
            probe.call(self._cluster)
        except CrmError as error:
            return outcome_of(error)
        return ACCEPTED

    def http(self, action: str) -> str:
        headers = {"Authorization": f"Bearer {self.token}"}
        if action == "read":
            response = self._http.get(f"{self.base_url}/api/v1/contacts", headers=headers, timeout=10)
        elif action == "admin write":
            response = self._http.post(
                f"{self.base_url}/api/v1/sms/credits/purchases",
                json={"credits": 1000, "reference": _unique("facture")},
                headers=headers,
                timeout=10,
            )
        else:
            response = self._http.post(
                f"{self.base_url}/api/v1/contacts",
                json={"last_name": _unique("Durand")},
                headers=headers,
                timeout=10,
            )
        if response.status_code < 300:
            return ACCEPTED
        return str(response.status_code)

    def outcomes(self, probes: tuple[Probe, ...] = PROBES) -> dict[tuple[str, str], str]:
        results = {(probe.service, probe.action): self.rpc(probe) for probe in probes}
        for action in GATEWAY_ACTIONS:
            results[("gateway", action)] = self.http(action)
        return results

    def delays_until(
        self, expected: dict[tuple[str, str], str], since: float, limit: float = 5.0
    ) -> dict[tuple[str, str], float | None]:
        """Seconds from ``since`` until each probe first gave its expected outcome (None: never
        within ``limit``). Probes are tried in rounds, so each delay is an upper bound."""
        waiting = dict(expected)
        delays: dict[tuple[str, str], float | None] = {}
        by_key = {(probe.service, probe.action): probe for probe in PROBES}
        while waiting and time.monotonic() - since < limit:
            for key, wanted in list(waiting.items()):
                got = self.http(key[1]) if key[0] == "gateway" else self.rpc(by_key[key])
                if got == wanted:
                    delays[key] = time.monotonic() - since
                    del waiting[key]
        delays.update({key: None for key in waiting})
        return delays
