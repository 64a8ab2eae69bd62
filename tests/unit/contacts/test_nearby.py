"""Nearest first: companies and contacts around a position, with their distance, page after page."""

from __future__ import annotations

import random

import pytest

from crm.errors import InvalidInput
from services.contacts import geo
from tests.people import BOB, DIANE, JEANNE

# Around the Paris Opéra (48.8719, 2.3316).
OPERA = "48.8719,2.3316"
SITES = {
    "Boulangerie Dupont Paris": (48.8724, 2.3325),  # about 80 m away
    "Pomme Siège Central": (48.8693, 2.3311),  # about 290 m
    "Pomme Louvre": (48.8606, 2.3376),  # about 1.3 km
    "Pomme Lyon": (45.7640, 4.8357),  # about 392 km
    "Pomme Nouméa": (-22.2758, 166.4580),  # the other side of the Earth
}


def _company(name: str, position: tuple[float, float] | None, **more) -> dict:
    address = {"city": "Paris"}
    if position is not None:
        address["position"] = {"latitude": position[0], "longitude": position[1]}
    return {"name": name, "address": address, **more}


@pytest.fixture
def sites(contacts):
    bob = contacts.as_user(BOB)
    for name, position in SITES.items():
        bob.create_company(_company(name, position))
    bob.create_company(_company("Pomme Sans Adresse", None))
    return bob


def _names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


def test_companies_come_nearest_first_with_their_distance_in_metres(sites):
    page = sites.search_companies(near=OPERA)

    assert _names(page) == list(SITES)
    distances = [item["distance_m"] for item in page["items"]]
    assert distances == sorted(distances)
    assert distances[0] == round(geo.distance_m(48.8719, 2.3316, 48.8724, 2.3325))
    assert all(isinstance(distance, int) for distance in distances)
    assert 1_200 < distances[2] < 1_400 and 390_000 < distances[3] < 396_000
    assert page["next_cursor"] is None


def test_a_company_without_position_is_left_out_of_a_nearest_first_list(sites):
    assert "Pomme Sans Adresse" not in _names(sites.search_companies(near=OPERA))
    assert "Pomme Sans Adresse" in _names(sites.search_companies())


def test_without_near_the_usual_order_and_no_distance(sites):
    page = sites.search_companies()

    assert _names(page) == sorted(_names(page))
    assert all(item["distance_m"] is None for item in page["items"])


def test_within_m_keeps_only_those_close_enough(sites):
    assert _names(sites.search_companies(near=OPERA, within_m=1_000)) == list(SITES)[:2]
    assert _names(sites.search_companies(near=OPERA, within_m=50)) == []


def test_near_combines_with_a_text_query(sites):
    assert _names(sites.search_companies(near=OPERA, q="pomme")) == [n for n in SITES if "Pomme" in n]


def test_a_deleted_company_and_another_organisations_are_not_listed(contacts, sites):
    louvre = next(item for item in sites.search_companies(q="louvre")["items"])
    sites.delete_company(louvre["id"])
    contacts.as_user(DIANE).create_company(_company("Poire Opéra", (48.8719, 2.3316)))

    assert "Pomme Louvre" not in _names(sites.search_companies(near=OPERA))
    assert "Poire Opéra" not in _names(sites.search_companies(near=OPERA))


def test_pages_follow_the_distance_and_serve_each_company_once(sites):
    served, cursor = [], None
    while True:
        page = sites.search_companies(near=OPERA, limit=2, cursor=cursor)
        served += _names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert served == list(SITES)


def test_a_cursor_of_another_position_or_of_the_usual_order_is_refused(sites):
    cursor = sites.search_companies(near=OPERA, limit=1)["next_cursor"]
    usual = sites.search_companies(limit=1)["next_cursor"]

    for near, given in (("48.8,2.3", cursor), (OPERA, usual)):
        with pytest.raises(InvalidInput) as refused:
            sites.search_companies(near=near, limit=1, cursor=given)
        assert [e["field"] for e in refused.value.errors] == ["cursor"]
    with pytest.raises(InvalidInput):
        sites.search_companies(limit=1, cursor=cursor)


def test_across_the_antimeridian_the_nearest_is_on_the_other_side(contacts):
    bob = contacts.as_user(BOB)
    bob.create_company(_company("Fidji Est", (-17.0, -179.99)))
    bob.create_company(_company("Fidji Ouest", (-17.0, 179.5)))

    page = bob.search_companies(near="-17,179.99", within_m=10_000)

    assert _names(page) == ["Fidji Est"]
    assert page["items"][0]["distance_m"] == pytest.approx(2_127, abs=2)


def test_near_a_pole_every_longitude_is_searched(contacts):
    bob = contacts.as_user(BOB)
    bob.create_company(_company("Station Nord", (89.99, -150.0)))

    page = bob.search_companies(near="89.99,30", within_m=5_000)

    assert _names(page) == ["Station Nord"]
    assert page["items"][0]["distance_m"] == pytest.approx(2_224, abs=2)


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        ({"within_m": 500}, "within_m"),
        ({"near": "91,2.35"}, "near"),
        ({"near": "Paris"}, "near"),
        ({"near": OPERA, "within_m": -1}, "within_m"),
        ({"near": OPERA, "within_m": 0}, "within_m"),
        ({"near": OPERA, "within_m": "500"}, "within_m"),
    ],
)
def test_bad_near_or_within_m_is_refused_naming_it(sites, asked, field):
    for search in (sites.search_companies, sites.search_contacts):
        with pytest.raises(InvalidInput) as refused:
            search(**asked)
        assert [e["field"] for e in refused.value.errors] == [field]


def test_contacts_come_nearest_first_with_their_current_companies(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(_company("Pomme Siège Central", SITES["Pomme Siège Central"]))
    near = {"latitude": 48.8720, "longitude": 2.3320}
    far = {"latitude": 45.7640, "longitude": 4.8357}
    bob.create_contact({**JEANNE, "address": {"position": far}})
    bob.create_contact(
        {
            "first_name": "François",
            "last_name": "Lefèvre",
            "address": {"position": near},
            "employments": [{"company_id": siege["id"]}],
        }
    )
    bob.create_contact({"first_name": "Zoé", "last_name": "Sans Position"})

    page = bob.search_contacts(near=OPERA)

    assert [item["last_name"] for item in page["items"]] == ["Lefèvre", "Dupont"]
    assert page["items"][0]["distance_m"] < 50
    assert page["items"][0]["current_companies"][0]["name"] == "Pomme Siège Central"
    assert page["items"][0]["address"]["position"] == {**near, "source": "typed"}


def test_pages_of_many_scattered_companies_match_sorting_them_all(contacts):
    """Dense and sparse places alike: the growing circle never misses a nearer company."""
    bob = contacts.as_user(BOB)
    rng = random.Random(18)
    positions = {}
    for index in range(160):
        if index % 4 == 0:  # a quarter in Paris, the rest all over the Earth
            position = (48.85 + rng.uniform(-0.05, 0.05), 2.35 + rng.uniform(-0.05, 0.05))
        else:
            position = (rng.uniform(-89.9, 89.9), rng.uniform(-180, 180))
        name = f"Site {index:03d}"
        positions[name] = position
        bob.create_company(_company(name, position))

    for centre, within_m in (((48.85, 2.35), None), ((-40.0, 175.0), None), ((48.85, 2.35), 3_000_000)):
        expected = sorted(
            (geo.distance_m(*centre, *position), name)
            for name, position in positions.items()
            if within_m is None or geo.distance_m(*centre, *position) <= within_m
        )
        served, cursor = [], None
        while True:
            page = bob.search_companies(
                near=f"{centre[0]},{centre[1]}", within_m=within_m, limit=7, cursor=cursor
            )
            served += [(item["name"], item["distance_m"]) for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        # Names compared in order of distance (ties are far too unlikely at these positions).
        assert [name for name, _ in served] == [name for _, name in expected]
        assert [d for _, d in served] == [round(d) for d, _ in expected]
