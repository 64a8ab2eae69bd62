"""Distances and the boxes around circles: near the poles, across the antimeridian, at every scale."""

from __future__ import annotations

import math
import random

import pytest

from services.contacts import geo

PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)


def test_paris_to_lyon_is_about_391_km():
    assert round(geo.distance_m(*PARIS, *LYON) / 1000) == 391


def test_a_place_is_at_zero_metres_from_itself_and_distance_is_symmetric():
    assert geo.distance_m(*PARIS, *PARIS) == 0
    assert geo.distance_m(*PARIS, *LYON) == geo.distance_m(*LYON, *PARIS)


def test_a_degree_of_latitude_is_about_111_km_everywhere():
    for latitude in (-89.0, -45.0, 0.0, 45.0, 88.0):
        assert geo.distance_m(latitude, 10, latitude + 1, 10) == pytest.approx(111_195, abs=1)


def test_across_the_antimeridian_the_short_way_round_is_taken():
    # Fiji, either side of 180°: 0.2° of longitude apart, not 359.8°.
    assert geo.distance_m(-17.0, 179.9, -17.0, -179.9) == pytest.approx(21_270, rel=1e-3)


def test_antipodes_are_half_the_circumference_apart():
    assert geo.distance_m(0, 0, 0, 180) == pytest.approx(geo.FARTHEST_M)
    assert geo.distance_m(90, 0, -90, 0) == pytest.approx(geo.FARTHEST_M)


def test_a_small_circle_has_one_longitude_range_around_the_centre():
    box = geo.bounding_box(*PARIS, 1_000)

    ((west, east),) = box.longitudes
    assert west < PARIS[1] < east
    assert box.south < PARIS[0] < box.north
    assert box.north - box.south == pytest.approx(2 * 1_000 / 111_195, rel=1e-4)


def test_a_circle_across_the_antimeridian_has_two_longitude_ranges():
    box = geo.bounding_box(-17.0, 179.95, 20_000)

    assert len(box.longitudes) == 2
    assert box.holds(-17.0, -179.95) and box.holds(-17.0, 179.9)
    assert not box.holds(-17.0, 0.0)


def test_a_circle_holding_a_pole_takes_every_longitude():
    box = geo.bounding_box(89.9, 45.0, 50_000)

    assert box.north == 90 and box.longitudes == ()
    assert box.holds(89.8, -135.0)


def test_a_circle_bigger_than_the_earth_holds_everything():
    box = geo.bounding_box(*PARIS, geo.FARTHEST_M)

    assert (box.south, box.north, box.longitudes) == (-90, 90, ())


@pytest.mark.parametrize("centre", [PARIS, (0.0, 0.0), (-17.0, 179.99), (89.5, -120.0), (-89.99, 0.0)])
@pytest.mark.parametrize("radius_m", [10, 5_000, 800_000, 6_000_000])
def test_every_point_within_the_radius_is_in_the_box(centre, radius_m):
    rng = random.Random(f"{centre}{radius_m}")
    box = geo.bounding_box(*centre, radius_m)
    for _ in range(2_000):
        # Points on (or just inside) the circle, in every direction: the box's hardest cases.
        bearing = rng.uniform(0, 2 * math.pi)
        point = _destination(*centre, bearing, radius_m * rng.choice((1.0, 0.999999, 0.5)))
        assert geo.distance_m(*centre, *point) <= radius_m + 0.001
        assert box.holds(*point), (centre, radius_m, point)


def _destination(latitude: float, longitude: float, bearing: float, distance_m: float) -> tuple[float, float]:
    phi1, lambda1 = math.radians(latitude), math.radians(longitude)
    angle = distance_m / geo.EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi1) * math.cos(angle) + math.cos(phi1) * math.sin(angle) * math.cos(bearing))
    lambda2 = lambda1 + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(phi1),
        math.cos(angle) - math.sin(phi1) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lambda2) + 540) % 360 - 180


@pytest.mark.parametrize(
    ("text", "point"),
    [("48.8566,2.3522", (48.8566, 2.3522)), (" -90 , 180 ", (-90.0, 180.0)), ("0,-180", (0.0, -180.0))],
)
def test_a_position_is_read_from_latitude_comma_longitude(text, point):
    assert geo.parse_point(text) == point


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("91,2.35", "latitude 91 is not between -90 and 90"),
        ("48.85,180.5", "longitude 180.5 is not between -180 and 180"),
        ("Paris", "latitude,longitude"),
        ("48.85;2.35", "latitude,longitude"),
        ("48.85,2.35,10", "latitude,longitude"),
        ("nan,2.35", "latitude nan"),
        ("48.85,inf", "longitude inf"),
    ],
)
def test_a_bad_position_says_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        geo.parse_point(text)
