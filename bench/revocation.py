"""From a revocation to its refusal, in each service: how long a revoked access still works.

Starts its own `crm run` (PostgreSQL ``crm_bench``, see ``bench/system.py``).
For each way of revoking (logout, replayed refresh token, deactivation,
read-only switch, demotion, password change, password reset, API-token
revocation) and each service, it makes a fresh admin, logs in, checks that
the service accepts the token, revokes, and then calls that one service in
a tight loop with the old token until it refuses as it should (401, or 403
for read-only and demotion). The delay is measured from the moment the
revoking HTTP request answered. ``BENCH_REPEATS`` (default 3) revocations
per cell; the table gives the worst and the median, and the baseline is one
accepted call to the same service (the loop's resolution). Target: every
cell under 1,000 ms.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402  nameko's standalone proxy runs on eventlet

import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.system import PASSWORD, running_system  # noqa: E402
from crm.settings import Settings  # noqa: E402
from tests.e2e.revocation_probes import (  # noqa: E402
    ACCEPTED,
    FORBIDDEN,
    PROBES,
    UNAUTHENTICATED,
    Probe,
    TokenProbes,
)

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
SERVICES = ("accounts", "contacts", "interactions", "messaging", "notifier", "gateway")


class Bench:
    def __init__(self, base_url: str, admin_token: str, amqp_config: dict[str, Any]):
        self.base = base_url
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.amqp_config = amqp_config
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else self.admin
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def new_admin(self) -> dict[str, Any]:
        email = f"bruno-{uuid.uuid4().hex[:10]}@pomme.fr"
        user = self.call(
            "POST",
            "/api/v1/users",
            json={"email": email, "name": "Bruno Petit", "password": PASSWORD, "role": "admin"},
        ).json()
        return {"id": user["id"], "email": email, **self.login(email)}

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        body = self.http.post(
            f"{self.base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
        ).json()
        return {"token": body["access_token"], "refresh": body["refresh_token"]}


# Each way of revoking: (what the old token should get, revoke(bench, bruno) -> the token to probe).
def _logout(bench: Bench, bruno: dict) -> str:
    bench.call("POST", "/api/v1/auth/logout", token=bruno["token"]).raise_for_status()
    return bruno["token"]


def _replayed_refresh(bench: Bench, bruno: dict) -> str:
    renewed = bench.http.post(f"{bench.base}/api/v1/auth/refresh", json={"refresh_token": bruno["refresh"]})
    bench.http.post(f"{bench.base}/api/v1/auth/refresh", json={"refresh_token": bruno["refresh"]})
    return renewed.json()["access_token"]


def _patch_user(changes: dict) -> Callable[[Bench, dict], str]:
    def revoke(bench: Bench, bruno: dict) -> str:
        bench.call("PATCH", f"/api/v1/users/{bruno['id']}", json=changes).raise_for_status()
        return bruno["token"]

    return revoke


def _deactivate(bench: Bench, bruno: dict) -> str:
    bench.call("POST", f"/api/v1/users/{bruno['id']}/deactivate").raise_for_status()
    return bruno["token"]


def _password_change(bench: Bench, bruno: dict) -> str:
    laptop = bench.login(bruno["email"])
    bench.call(
        "PATCH",
        "/api/v1/me",
        token=laptop["token"],
        json={"current_password": PASSWORD, "new_password": "Pomme-2027-x"},
    ).raise_for_status()
    return bruno["token"]


def _api_token_revoked(bench: Bench, bruno: dict) -> str:
    bench.call(
        "DELETE", f"/api/v1/auth/tokens/{bruno['api_token_id']}", token=bruno["token"]
    ).raise_for_status()
    return bruno["api_access_token"]


KINDS: dict[str, tuple[str, Callable[[Bench, dict], str]]] = {
    "logout": (UNAUTHENTICATED, _logout),
    "refresh token replayed": (UNAUTHENTICATED, _replayed_refresh),
    "deactivation": (UNAUTHENTICATED, _deactivate),
    "read-only switch": (FORBIDDEN, _patch_user({"read_only": True})),
    "demotion to member": (FORBIDDEN, _patch_user({"role": "member"})),
    "own password change": (UNAUTHENTICATED, _password_change),
    "password reset by admin": (UNAUTHENTICATED, _patch_user({"password": "Pomme-2027-reset"})),
    "API token revoked": (UNAUTHENTICATED, _api_token_revoked),
}


def probe_for(service: str, expected: str, kind: str) -> Probe | None:
    """The probe of ``service`` whose outcome the revocation changes."""
    action = "admin write" if kind == "demotion to member" else ("write" if expected == FORBIDDEN else "read")
    if service == "gateway":
        return Probe("gateway", action, lambda c: None)
    for wanted in (action, "admin write") if action == "write" else (action,):
        # A read-only admin is refused admin writes too, where a service has no other write.
        matches = [probe for probe in PROBES if probe.service == service and probe.action == wanted]
        if matches:
            return matches[0]
    return None


def one_delay(bench: Bench, kind: str, service: str) -> tuple[float, float] | None:
    """(seconds from revocation to refusal, seconds of one accepted call) or None if n/a."""
    expected, revoke = KINDS[kind]
    probe = probe_for(service, expected, kind)
    if probe is None:
        return None
    bruno = bench.new_admin()
    token = bruno["token"]
    if kind == "API token revoked":  # the access token the gateway caches for an API token
        created = bench.call("POST", "/api/v1/auth/tokens", token=token, json={"name": "bench"}).json()
        with ClusterRpcProxy(bench.amqp_config, timeout=10) as cluster:
            token = cluster.accounts.exchange_api_token(created["token"])["access_token"]
        bruno.update(api_token_id=created["id"], api_access_token=token)
    probes = TokenProbes(bench.amqp_config, bench.base, token)
    try:

        def attempt() -> str:
            return probes.http(probe.action) if service == "gateway" else probes.rpc(probe)

        started = time.monotonic()
        assert attempt() == ACCEPTED, f"{service} refused {kind} before the revocation"
        baseline = time.monotonic() - started
        probed = revoke(bench, bruno)
        if probed != token:  # a replayed refresh token: the renewed access token is the one to probe
            probes.close()
            probes = TokenProbes(bench.amqp_config, bench.base, probed)
        since = time.monotonic()
        while attempt() != expected:
            if time.monotonic() - since > 10:
                return float("inf"), baseline
        return time.monotonic() - since, baseline
    finally:
        probes.close()


def main() -> None:
    with running_system("revocation") as system:
        settings = Settings.model_validate(system.settings)
        bench = Bench(system.base_url, system.admin_token(), settings.nameko_config())
        rows = []
        baselines: dict[str, list[float]] = {service: [] for service in SERVICES}
        for kind in KINDS:
            cells = []
            for service in SERVICES:
                measured = [one_delay(bench, kind, service) for _ in range(REPEATS)]
                if measured[0] is None:
                    cells.append("n/a")
                    continue
                delays = [delay * 1000 for delay, _ in measured]
                baselines[service].extend(base * 1000 for _, base in measured)
                cells.append(f"{max(delays):.0f} ({statistics.median(delays):.0f})")
            rows.append((kind, cells))
    print(f"\nDelay from revocation to refusal, ms: worst (median) of {REPEATS}; target < 1000\n")
    print("| revoked by | " + " | ".join(SERVICES) + " |")
    print("|---|" + "---|" * len(SERVICES))
    for kind, cells in rows:
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print(
        "| baseline: one accepted call | "
        + " | ".join(f"{statistics.median(values):.1f}" for values in baselines.values())
        + " |"
    )


if __name__ == "__main__":
    main()
