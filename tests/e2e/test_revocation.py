"""A revoked access stops in every service within a second, whatever revoked it.

Each test revokes one way, then tries a read and a write against each service
on its own (RPC with the token, as any caller inside the system would) and
against the gateway (HTTP), and checks the refusal comes within one second.
"""

from __future__ import annotations

import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from crm.auth import CallerProvider
from crm.errors import CrmError
from crm.health import Pingable
from crm.rpc import rpc
from tests.e2e.conftest import PASSWORD, Api, create_user
from tests.e2e.revocation_probes import (
    ACCEPTED,
    FORBIDDEN,
    GATEWAY_ACTIONS,
    PROBES,
    UNAUTHENTICATED,
    TokenProbes,
    outcome_of,
)

LIMIT_SECONDS = 1.0
ALL_KEYS = [(probe.service, probe.action) for probe in PROBES] + [
    ("gateway", action) for action in GATEWAY_ACTIONS
]


def everything(outcome: str) -> dict[tuple[str, str], str]:
    return dict.fromkeys(ALL_KEYS, outcome)


def only_reads_accepted() -> dict[tuple[str, str], str]:
    return {key: ACCEPTED if key[1] == "read" else FORBIDDEN for key in ALL_KEYS}


def admin_writes_forbidden() -> dict[tuple[str, str], str]:
    return {key: FORBIDDEN if key[1] == "admin write" else ACCEPTED for key in ALL_KEYS}


@pytest.fixture
def bruno(system, org) -> dict:
    """A second admin of the organisation, logged in, every probe accepted."""
    user = create_user(org["admin"], role="admin", name="Bruno Petit")
    api = system.login(user["email"])
    return {"user": user, "api": api, "email": user["email"]}


@pytest.fixture
def probes_for(system):
    opened: list[TokenProbes] = []

    def open_probes(token: str) -> TokenProbes:
        probes = TokenProbes(system.settings.nameko_config(), system.base_url, token)
        opened.append(probes)
        return probes

    yield open_probes
    for probes in opened:
        probes.close()


def assert_all_accepted(probes: TokenProbes) -> None:
    assert probes.outcomes() == everything(ACCEPTED)


def assert_within_a_second(probes: TokenProbes, expected: dict, since: float) -> dict:
    delays = probes.delays_until(expected, since)
    late = {key: delay for key, delay in delays.items() if delay is None or delay > LIMIT_SECONDS}
    assert not late, f"not refused within {LIMIT_SECONDS} s: {late}; now {probes.outcomes()}"
    return delays


def test_logout_stops_the_access_token_in_every_service(bruno, probes_for):
    probes = probes_for(bruno["api"].token)
    assert_all_accepted(probes)
    response = bruno["api"].post("/api/v1/auth/logout", json={"refresh_token": bruno["api"].refresh_token})
    assert response.status_code == 204, response.text
    assert_within_a_second(probes, everything(UNAUTHENTICATED), time.monotonic())


def test_a_replayed_refresh_token_signs_the_session_out_in_every_service(system, bruno, probes_for):
    stolen = bruno["api"].refresh_token
    renewed = Api(system.base_url).post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    assert renewed.status_code == 200, renewed.text
    probes = probes_for(renewed.json()["access_token"])
    assert_all_accepted(probes)
    replay = Api(system.base_url).post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    assert replay.status_code == 401
    since = time.monotonic()
    assert_within_a_second(probes, everything(UNAUTHENTICATED), since)
    assert_within_a_second(probes_for(bruno["api"].token), everything(UNAUTHENTICATED), since)


def test_a_deactivated_user_is_refused_in_every_service(org, bruno, probes_for):
    probes = probes_for(bruno["api"].token)
    assert_all_accepted(probes)
    response = org["admin"].post(f"/api/v1/users/{bruno['user']['id']}/deactivate")
    assert response.status_code == 200, response.text
    assert_within_a_second(probes, everything(UNAUTHENTICATED), time.monotonic())


def test_a_user_made_read_only_can_still_read_but_no_longer_write_anywhere(org, bruno, probes_for):
    probes = probes_for(bruno["api"].token)
    assert_all_accepted(probes)
    response = org["admin"].patch(f"/api/v1/users/{bruno['user']['id']}", json={"read_only": True})
    assert response.status_code == 200, response.text
    assert_within_a_second(probes, only_reads_accepted(), time.monotonic())


def test_an_admin_demoted_to_member_loses_admin_writes_at_once_and_keeps_the_rest(org, bruno, probes_for):
    probes = probes_for(bruno["api"].token)
    assert_all_accepted(probes)
    response = org["admin"].patch(f"/api/v1/users/{bruno['user']['id']}", json={"role": "member"})
    assert response.status_code == 200, response.text
    assert_within_a_second(probes, admin_writes_forbidden(), time.monotonic())
    # The SMS credits bought in the checks above (over RPC and HTTP) are all there were.
    purchases = org["admin"].get("/api/v1/sms/credits").json()
    assert purchases["balance"] == 2000, purchases


def test_changing_ones_password_signs_out_the_other_logins_everywhere(system, bruno, probes_for):
    phone = probes_for(bruno["api"].token)
    laptop_api = system.login(bruno["email"])
    laptop = probes_for(laptop_api.token)
    assert_all_accepted(phone)
    response = laptop_api.patch(
        "/api/v1/me", json={"current_password": PASSWORD, "new_password": "Pomme-2027-nouveau"}
    )
    assert response.status_code == 200, response.text
    assert_within_a_second(phone, everything(UNAUTHENTICATED), time.monotonic())
    assert_all_accepted(laptop)


def test_a_password_reset_by_an_admin_stops_the_users_logins_and_api_tokens(system, org, bruno, probes_for):
    created = bruno["api"].post("/api/v1/auth/tokens", json={"name": "intégration"})
    assert created.status_code == 201, created.text
    exchanged = _exchange(system, created.json()["token"])
    login, api_token = probes_for(bruno["api"].token), probes_for(exchanged)
    assert_all_accepted(api_token)
    response = org["admin"].patch(
        f"/api/v1/users/{bruno['user']['id']}", json={"password": "Pomme-2027-reset"}
    )
    assert response.status_code == 200, response.text
    since = time.monotonic()
    assert_within_a_second(login, everything(UNAUTHENTICATED), since)
    assert_within_a_second(api_token, everything(UNAUTHENTICATED), since)


def test_a_revoked_api_token_stops_at_once_even_where_its_access_token_is_cached(system, bruno, probes_for):
    created = bruno["api"].post("/api/v1/auth/tokens", json={"name": "intégration"})
    assert created.status_code == 201, created.text
    raw = created.json()["token"]
    # What the gateway keeps for `auth.api_token_cache_seconds` after trading the API token.
    probes = probes_for(_exchange(system, raw))
    assert_all_accepted(probes)
    assert Api(system.base_url, token=raw).get("/api/v1/me").status_code == 200
    response = bruno["api"].delete(f"/api/v1/auth/tokens/{created.json()['id']}")
    assert response.status_code == 200, response.text
    assert_within_a_second(probes, everything(UNAUTHENTICATED), time.monotonic())
    assert Api(system.base_url, token=raw).get("/api/v1/contacts").status_code == 401


def _exchange(system, raw_api_token: str) -> str:
    with ClusterRpcProxy(system.settings.nameko_config(), timeout=10) as cluster:
        return cluster.accounts.exchange_api_token(raw_api_token)["access_token"]


class LateComer(Pingable):
    """A process started beside the running system: verifies tokens as every service does."""

    name = "revocation_latecomer"
    caller = CallerProvider()

    @rpc
    def whoami(self) -> str:
        return self.caller.user().user_id


class Blind(LateComer):
    """A process that cannot learn what was revoked (accounts unreachable when it starts)."""

    name = "revocation_blind"

    def _accounts_unreachable(config):
        raise ConnectionError("accounts is unreachable")

    caller = CallerProvider(load_revocations=_accounts_unreachable)


def _whoami(system, service: str, token: str, times: int) -> list[str]:
    outcomes = []
    with ClusterRpcProxy(
        system.settings.nameko_config(), context_data={"access_token": token}, timeout=10
    ) as c:
        for _ in range(times):
            try:
                getattr(c, service).whoami()
                outcomes.append(ACCEPTED)
            except CrmError as error:
                outcomes.append(outcome_of(error))
    return outcomes


def test_processes_started_after_a_logout_refuse_the_signed_out_token(system, org, bruno, container_factory):
    assert bruno["api"].post("/api/v1/auth/logout").status_code == 204
    for _ in range(2):  # two processes of one service, sharing its queue
        container_factory(LateComer, system.settings.nameko_config()).start()
    assert _whoami(system, LateComer.name, bruno["api"].token, 10) == [UNAUTHENTICATED] * 10
    assert _whoami(system, LateComer.name, org["admin"].token, 10) == [ACCEPTED] * 10


def test_each_of_several_processes_of_a_service_hears_a_revocation(system, bruno, container_factory):
    for _ in range(2):
        container_factory(LateComer, system.settings.nameko_config()).start()
    assert _whoami(system, LateComer.name, bruno["api"].token, 10) == [ACCEPTED] * 10
    assert bruno["api"].post("/api/v1/auth/logout").status_code == 204
    since = time.monotonic()
    while _whoami(system, LateComer.name, bruno["api"].token, 10) != [UNAUTHENTICATED] * 10:
        assert time.monotonic() - since < LIMIT_SECONDS, "a process still accepts the signed-out token"


def test_a_process_that_cannot_learn_the_revocations_refuses_rather_than_guesses(
    system, org, container_factory
):
    container_factory(Blind, system.settings.nameko_config()).start()
    assert _whoami(system, Blind.name, org["admin"].token, 3) == ["503"] * 3
    with ClusterRpcProxy(system.settings.nameko_config(), timeout=10) as cluster:
        assert "revoked" in cluster.revocation_blind.ping()["status"]
