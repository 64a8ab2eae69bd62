"""Check-ins on the real broker and database: interactions asks contacts where the visited company
is (one ``positions`` call with the caller's token), refuses a check-in beyond the type's radius
and records the visit and its events through the outbox."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from crm.auth import CallerProvider
from crm.database import create_service_engine
from crm.errors import ReadOnlyUser
from services.contacts.service import ContactsService
from services.interactions.exceptions import (
    CheckInAlreadyOpen,
    InteractionNotFound,
    NoOpenCheckIn,
    TooFarToCheckIn,
)
from services.interactions.models import CheckIn, outbox
from services.interactions.service import InteractionsService
from tests.people import ALICE, BOB, CLAIRE, DIANE, KID, Person
from tests.unit.service_workers import signed_access_token

SIGNING_KEY = Ed25519PrivateKey.generate()
OPERA = {"latitude": 48.8719, "longitude": 2.3316, "accuracy_m": 12.5}  # 86 m from the Boulangerie
PYRAMIDE = {"latitude": 48.8611, "longitude": 2.3358, "accuracy_m": 8.0}  # 1279 m from it
DELIVERY_STATUSES = [
    {"key": "planned", "name": "Planned"},
    {"key": "delivered", "name": "Delivered", "closed": True},
]


def _trusting_this_tests_key() -> CallerProvider:
    return CallerProvider(
        load_keys=lambda config: {KID: SIGNING_KEY.public_key()},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )


class ContactsUnderTest(ContactsService):
    """The real service, verifying tokens with this test's key instead of asking ``accounts``."""

    caller = _trusting_this_tests_key()


class InteractionsUnderTest(InteractionsService):
    caller = _trusting_this_tests_key()


@pytest.fixture
def services(container_factory, migrated):
    for service in (ContactsUnderTest, InteractionsUnderTest):
        container_factory(service, migrated.nameko_config()).start()
    return migrated


def _as(settings, person: Person) -> ClusterRpcProxy:
    token = signed_access_token(settings, SIGNING_KEY, person)
    return ClusterRpcProxy(settings.nameko_config(), context_data={"access_token": token}, timeout=15)


def _rows(settings, statement) -> list:
    engine = create_service_engine(settings, "interactions")
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement))
    finally:
        engine.dispose()


def test_a_check_in_is_measured_to_the_company_contacts_knows_and_refused_beyond_the_radius(services):
    with _as(services, BOB) as bob, _as(services, ALICE) as alice:
        boulangerie = bob.contacts.create_company(
            {
                "name": "Boulangerie Dupont Paris",
                "address": {"position": {"latitude": 48.8724, "longitude": 2.3325, "source": "phone_gps"}},
            }
        )["id"]
        jeanne = bob.contacts.create_contact({"first_name": "Jeanne", "last_name": "Dupont"})["id"]
        alice.interactions.put_type(
            "delivery", {"name": "Delivery", "statuses": DELIVERY_STATUSES, "checkin_radius_m": 200}
        )
        livraison = bob.interactions.create_interaction(
            {
                "subject": "Livraison Boulangerie Dupont Paris",
                "type": "delivery",
                "start_at": "2026-12-07T09:00:00+01:00",
                "company_ids": [boulangerie],
                "contact_ids": [jeanne],
            }
        )["id"]

        with pytest.raises(TooFarToCheckIn) as refused:
            bob.interactions.check_in(livraison, PYRAMIDE)
        assert refused.value.detail == "1.3 km from Boulangerie Dupont Paris, allowed 200 m"
        assert _rows(services, select(CheckIn.id).where(CheckIn.interaction_id == livraison)) == []

        visit = bob.interactions.check_in(livraison, OPERA)
        assert visit["place"] == {"kind": "company", "id": boulangerie, "name": "Boulangerie Dupont Paris"}
        assert (visit["distance_m"], visit["radius_m"], visit["position_known"]) == (86, 200, True)
        with pytest.raises(CheckInAlreadyOpen):
            bob.interactions.check_in(livraison, OPERA)

        closed = bob.interactions.check_out(livraison)
        assert closed["id"] == visit["id"] and closed["duration_seconds"] >= 0
        with pytest.raises(NoOpenCheckIn):
            bob.interactions.check_out(livraison)
        assert [c["id"] for c in alice.interactions.list_check_ins(livraison)] == [visit["id"]]

    events = _rows(
        services,
        select(outbox.c.event_type, outbox.c.payload).where(
            outbox.c.event_type.in_(("interaction_checked_in", "interaction_checked_out"))
        ),
    )
    mine = sorted(
        (row.event_type, row.payload["actor_id"])
        for row in events
        if row.payload["record"]["id"] == visit["id"]
    )
    assert mine == [("interaction_checked_in", BOB.user_id), ("interaction_checked_out", BOB.user_id)]


def test_a_contact_without_position_allows_the_check_in_and_says_so_and_others_are_refused(services):
    with _as(services, BOB) as bob:
        paul = bob.contacts.create_contact({"first_name": "Paul", "last_name": "Martin"})["id"]
        appel = bob.interactions.create_interaction(
            {
                "subject": "Visite Paul Martin",
                "type": "meeting",
                "start_at": "2026-12-07T14:00:00+01:00",
                "contact_ids": [paul],
            }
        )["id"]

        visit = bob.interactions.check_in(appel, PYRAMIDE)

    assert (visit["position_known"], visit["distance_m"], visit["place"]) == (False, None, None)
    assert visit["note"].startswith("no position is known")
    with _as(services, CLAIRE) as claire, pytest.raises(ReadOnlyUser):
        claire.interactions.check_in(appel, OPERA)
    with _as(services, DIANE) as diane, pytest.raises(InteractionNotFound):
        diane.interactions.check_in(appel, OPERA)
