"""Positions of companies (each site) and of contacts' addresses: set, read, replaced, cleared, refused."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from tests.people import BOB, JEANNE, SIEGE

# Pomme Siège Central, rue de la Paix, Paris.
PAIX = {"latitude": 48.8693, "longitude": 2.3311, "source": "typed"}


def _fields(error) -> list[str]:
    return [entry["field"] for entry in error.errors]


def test_a_site_keeps_the_position_given_and_returns_it_on_reads(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company({**SIEGE, "address": {**SIEGE["address"], "position": PAIX}})

    assert siege["address"]["position"] == PAIX
    assert bob.get_company(siege["id"])["address"]["position"] == PAIX
    assert bob.search_companies()["items"][0]["address"]["position"] == PAIX


def test_a_position_without_source_is_typed_and_a_phone_says_it_is_gps(contacts):
    bob = contacts.as_user(BOB)
    typed = {"latitude": 48.8693, "longitude": 2.3311}
    siege = bob.create_company({**SIEGE, "address": {**SIEGE["address"], "position": typed}})
    assert siege["address"]["position"]["source"] == "typed"

    gps = {"latitude": 48.86931, "longitude": 2.33109, "source": "phone_gps"}
    moved = bob.update_company(siege["id"], {"address": {"position": gps}})

    assert moved["address"]["position"] == gps
    assert moved["address"]["city"] == "Paris"  # the rest of the address stays
    assert moved["version"] == 2


def test_null_clears_the_position_and_clearing_the_address_clears_it_too(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company({**SIEGE, "address": {**SIEGE["address"], "position": PAIX}})

    assert bob.update_company(siege["id"], {"address": {"position": None}})["address"]["position"] is None
    bob.update_company(siege["id"], {"address": {"position": PAIX}})
    cleared = bob.update_company(siege["id"], {"address": None})
    assert cleared["address"]["position"] is None


def test_a_contacts_address_carries_a_position(contacts):
    bob = contacts.as_user(BOB)
    lyon = {"latitude": 45.7640, "longitude": 4.8357, "source": "import"}
    jeanne = bob.create_contact({**JEANNE, "address": {**JEANNE["address"], "position": lyon}})

    assert jeanne["address"]["position"] == lyon
    assert bob.get_contact(jeanne["id"])["address"]["position"] == lyon
    changed = bob.update_contact(jeanne["id"], {"address": {"position": {**lyon, "latitude": -33.8688}}})
    assert changed["address"]["position"]["latitude"] == -33.8688


def test_creating_the_same_id_with_the_same_position_again_is_a_replay(contacts):
    bob = contacts.as_user(BOB)
    body = {**SIEGE, "id": "0193b0c4-0000-7000-8000-000000000001", "address": {"position": PAIX}}
    bob.create_company(body)

    assert bob.create_company(body)["created"] is False


@pytest.mark.parametrize(
    ("position", "field"),
    [
        ({"latitude": 91, "longitude": 2.3}, "address.position.latitude"),
        ({"latitude": -90.5, "longitude": 2.3}, "address.position.latitude"),
        ({"latitude": 48.8, "longitude": 180.01}, "address.position.longitude"),
        ({"latitude": "48.8693", "longitude": 2.3311}, "address.position.latitude"),
        ({"latitude": 48.8693}, "address.position.longitude"),
        ({"latitude": 48.8, "longitude": 2.3, "source": "geocoder"}, "address.position.source"),
        ("48.8693,2.3311", "address.position"),
    ],
)
def test_a_bad_position_is_refused_naming_the_field_and_nothing_is_written(contacts, position, field):
    bob = contacts.as_user(BOB)
    before = contacts.footprint()

    with pytest.raises(InvalidInput) as refused:
        bob.create_company({**SIEGE, "address": {"position": position}})
    with pytest.raises(InvalidInput) as refused_contact:
        bob.create_contact({**JEANNE, "address": {"position": position}})

    assert _fields(refused.value) == [field]
    assert _fields(refused_contact.value) == [field]
    assert contacts.footprint() == before


def test_an_update_with_a_latitude_of_91_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company({**SIEGE, "address": {"position": PAIX}})

    with pytest.raises(InvalidInput) as refused:
        bob.update_company(siege["id"], {"address": {"position": {"latitude": 91, "longitude": 2.3}}})

    assert _fields(refused.value) == ["address.position.latitude"]
    assert "90" in refused.value.errors[0]["message"]
    assert bob.get_company(siege["id"])["address"]["position"] == PAIX
