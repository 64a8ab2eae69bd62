"""sync's business figures after real pulls and pushes on the running service (real broker and
database): pulls and pushes by outcome, records refused by reason, alerts open until read."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY

from crm.auth import CallerProvider
from crm.errors import InvalidInput
from services.sync import metrics
from services.sync.exceptions import SyncConflict
from services.sync.models import ReplicaRecord
from services.sync.service import SyncService
from tests.figures import samples, scrape
from tests.people import BOB, CLAIRE, KID, POMME
from tests.unit.notifier.harness import access_token

SIGNING_KEY = Ed25519PrivateKey.generate()


class SyncUnderTest(SyncService):
    """The real service, verifying tokens with this test's key; Pomme's users and interaction
    types are taken as known (accounts and interactions do not run here)."""

    caller = CallerProvider(
        load_keys=lambda config: {KID: SIGNING_KEY.public_key()},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )
    known_orgs = {POMME}


@pytest.fixture
def sync(container_factory, migrated):
    container = container_factory(SyncUnderTest, migrated.nameko_config())
    container.start()
    return container


def phone_of(settings, person) -> ClusterRpcProxy:
    token = access_token(settings, SIGNING_KEY, person)
    return ClusterRpcProxy(settings.nameko_config(), context_data={"access_token": token}, timeout=10)


def counted() -> dict[str, float]:
    """The process's own counts, on the registry its metrics port serves."""
    counts = {}
    for name, outcomes in (("pulls", ("ok", "failure")), ("pushes", ("ok", "conflict", "failure"))):
        for outcome in outcomes:
            counts[f"{name} {outcome}"] = REGISTRY.get_sample_value(
                f"crm_sync_{name}_total", {"outcome": outcome}
            )
    return counts


def moved(before: dict, after: dict) -> dict:
    return {key: after[key] - before[key] for key in before if after[key] != before[key]}


def alerts(sync_engine) -> dict:
    figures = scrape(metrics, sync_engine)
    rejected = {
        reason: count for (reason,), count in samples(figures, "crm_sync_rejected_records_total").items()
    }
    return {**rejected, "open": figures.get_sample_value("crm_sync_alerts_open")}


def contact_update(record_id: str) -> dict:
    raw = {
        "id": record_id,
        "last_name": "Dupont",
        "version": 1,
        "_status": "updated",
        "_changed": "last_name",
    }
    return {"contacts": {"created": [], "updated": [raw], "deleted": []}}


def test_pulls_and_pushes_are_counted_by_outcome_and_refused_records_by_reason(sync, migrated, sync_engine):
    device = {"device_id": f"iphone-{uuid.uuid4().hex[:8]}", "app_version": "2.4.0"}
    changed_on_server = f"c-{uuid.uuid4().hex[:12]}"
    with sync_engine.begin() as connection:  # a contact the feed holds, changed after the phone's last pull
        connection.execute(
            ReplicaRecord.__table__.insert().values(
                org_id=POMME,
                table_name="contacts",
                record_id=changed_on_server,
                seq=2**40,
                version=2,
                deleted=False,
                raw="{}",
            )
        )
    before, alerts_before = counted(), alerts(sync_engine)

    with phone_of(migrated, BOB) as bob, phone_of(migrated, CLAIRE) as claire:
        first = bob.sync.pull(device, {})
        with pytest.raises(InvalidInput):
            bob.sync.pull(device, {"last_pulled_at": "hier"})
        with pytest.raises(SyncConflict):
            bob.sync.push(device, {"changes": contact_update(changed_on_server), "last_pulled_at": 1})
        # A read-only user's change is refused alone, and kept as an alert for the phone.
        answer = claire.sync.push(
            device, {"changes": contact_update("c-jeanne"), "last_pulled_at": first["timestamp"]}
        )

        assert answer["rejected"] == {"contacts": ["c-jeanne"]}
        assert moved(before, counted()) == {
            "pulls ok": 1,
            "pulls failure": 1,
            "pushes conflict": 1,
            "pushes ok": 1,
        }
        assert moved(alerts_before, alerts(sync_engine)) == {"read_only": 1, "open": 1}

        claire.sync.mark_alert_read(answer["alerts"][0]["id"])

    assert moved(alerts_before, alerts(sync_engine)) == {"read_only": 1}
    assert set(alerts(sync_engine)) == {*metrics.REASONS, "open"}
