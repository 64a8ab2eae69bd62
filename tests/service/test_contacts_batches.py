"""``create_contacts`` and ``update_contacts`` on the real broker and database: a batch is written
in one transaction, an item refused is refused alone with its reason, each contact written is
announced through the outbox with it, and a batch sent again (or twice at once) makes nothing
twice."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.exceptions import deserialize
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from crm.auth import CallerProvider
from crm.database import create_service_engine
from crm.errors import IdAlreadyUsed, InvalidInput, NotFound, ReadOnlyUser, StaleVersion
from services.contacts.exceptions import DuplicateContactEmail
from services.contacts.models import Contact, outbox
from services.contacts.service import ContactsService
from tests.people import BOB, CLAIRE, KID, Person
from tests.unit.service_workers import signed_access_token

SIGNING_KEY = Ed25519PrivateKey.generate()


class ContactsUnderTest(ContactsService):
    """The real service, verifying tokens with this test's key instead of asking ``accounts``."""

    caller = CallerProvider(
        load_keys=lambda config: {KID: SIGNING_KEY.public_key()},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )


@pytest.fixture
def services(container_factory, migrated):
    container_factory(ContactsUnderTest, migrated.nameko_config()).start()
    return migrated


def _as(settings, person: Person) -> ClusterRpcProxy:
    token = signed_access_token(settings, SIGNING_KEY, person)
    return ClusterRpcProxy(settings.nameko_config(), context_data={"access_token": token}, timeout=15)


def _rows(settings, statement) -> list:
    engine = create_service_engine(settings, "contacts")
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement))
    finally:
        engine.dispose()


def _announced(settings, contact_ids: list[str]) -> list[str]:
    events = _rows(settings, select(outbox.c.payload).where(outbox.c.event_type == "contact_created"))
    return sorted(row.payload["record"]["id"] for row in events if row.payload["record"]["id"] in contact_ids)


def _people(count: int) -> list[dict]:
    mark = uuid.uuid4().hex[:8]
    return [
        {
            "id": str(uuid.uuid4()),
            "first_name": "Gaspard",
            "last_name": f"Google {n}",
            "email": f"gaspard.{mark}.{n}@gmail.com",
            "mobile": f"+33 6 12 34 56 {n:02d}",
        }
        for n in range(count)
    ]


def test_a_batch_creates_its_contacts_and_refuses_a_bad_item_alone_with_its_reason(services):
    lucie, paul, sans_nom, double = _people(4)
    del sans_nom["first_name"], sans_nom["last_name"]
    with _as(services, BOB) as bob:
        held = bob.contacts.create_contact({"last_name": "Déjà", "email": double["email"]})
        answer = bob.contacts.create_contacts(
            [lucie, {**paul, "birthday": "31/02/1990"}, sans_nom, double, {**lucie, "id": None}]
        )["items"]

    made, bad_day, nameless, taken, same_email = answer
    assert made["id"] == lucie["id"] and made["created"] is True and made["email"] == lucie["email"]
    assert made["mobile"] == lucie["mobile"] and made["version"] == 1
    assert isinstance(deserialize(bad_day["error"]), InvalidInput)
    assert "birthday" in deserialize(bad_day["error"]).detail
    assert deserialize(nameless["error"]).detail == "last_name: a contact needs a first name or a last name"
    duplicate = deserialize(taken["error"])
    assert isinstance(duplicate, DuplicateContactEmail) and held["id"] in duplicate.detail
    # An e-mail made earlier in the same batch is held already.
    assert isinstance(deserialize(same_email["error"]), DuplicateContactEmail)
    ids = [lucie["id"], paul["id"], sans_nom["id"], double["id"]]
    assert [row.id for row in _rows(services, select(Contact.id).where(Contact.id.in_(ids)))] == [lucie["id"]]
    assert _announced(services, ids) == [lucie["id"]]


def test_a_batch_sent_again_or_twice_at_once_makes_each_contact_once(services):
    batch = _people(20)
    with _as(services, BOB) as bob, _as(services, BOB) as again:
        first = bob.contacts.create_contacts.call_async(batch)
        second = again.contacts.create_contacts.call_async(batch)
        answers = [first.result()["items"], second.result()["items"]]
        replay = bob.contacts.create_contacts(batch)["items"]
        changed = bob.contacts.create_contacts([{**batch[0], "last_name": "Autre"}])["items"][0]

    for n, contact in enumerate(batch):
        both = [answers[0][n], answers[1][n]]
        assert sorted(item["created"] for item in both) == [False, True]
        assert {item["id"] for item in both} == {contact["id"]}
    assert [item["created"] for item in replay] == [False] * 20
    assert isinstance(deserialize(changed["error"]), IdAlreadyUsed)
    ids = [contact["id"] for contact in batch]
    assert _announced(services, ids) == sorted(ids)


def test_a_read_only_user_or_a_batch_too_large_changes_nothing(services):
    batch = _people(51)
    ids = [contact["id"] for contact in batch]
    with _as(services, CLAIRE) as claire, pytest.raises(ReadOnlyUser):
        claire.contacts.create_contacts(batch[:2])
    with _as(services, BOB) as bob:
        with pytest.raises(InvalidInput) as refused:
            bob.contacts.create_contacts(batch)
        assert refused.value.detail == "items: a list of 1 to 50 contacts"
        with pytest.raises(InvalidInput):
            bob.contacts.create_contacts([])
    assert _rows(services, select(Contact.id).where(Contact.id.in_(ids))) == []


def test_a_batch_of_changes_writes_each_contact_and_refuses_a_stale_or_unknown_one_alone(services):
    lucie, paul = _people(2)
    with _as(services, BOB) as bob:
        bob.contacts.create_contacts([lucie, paul])
        answer = bob.contacts.update_contacts(
            [
                {"id": lucie["id"], "changes": {"note": "Rappeler en mars", "version": 1}},
                {"id": paul["id"], "changes": {"note": "Vu au salon", "version": 7}},
                {"id": str(uuid.uuid4()), "changes": {"note": "Personne"}},
                {"id": paul["id"], "changes": {"email": "pas-une-adresse"}},
            ]
        )["items"]
        paul_now = bob.contacts.get_contact(paul["id"])

    changed, stale, unknown, bad_email = answer
    assert (changed["note"], changed["version"]) == ("Rappeler en mars", 2)
    assert isinstance(deserialize(stale["error"]), StaleVersion)
    assert isinstance(deserialize(unknown["error"]), NotFound)
    assert isinstance(deserialize(bad_email["error"]), InvalidInput)
    assert (paul_now["note"], paul_now["version"], paul_now["email"]) == (None, 1, paul["email"])
    updated = _rows(services, select(outbox.c.payload).where(outbox.c.event_type == "contact_updated"))
    assert [
        row.payload["record"]["id"]
        for row in updated
        if row.payload["record"]["id"] in (lucie["id"], paul["id"])
    ] == [lucie["id"]]
