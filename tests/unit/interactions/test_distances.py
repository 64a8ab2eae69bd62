"""Great-circle distances and how a user reads them."""

from __future__ import annotations

import pytest

from services.interactions.distances import distance_m, distance_text, too_far

OPERA = (48.8719, 2.3316)
BOULANGERIE = (48.8724, 2.3325)
PYRAMIDE = (48.8611, 2.3358)
LYON = (45.7640, 4.8357)


def test_distances_are_great_circle_metres():
    assert round(distance_m(*OPERA, *BOULANGERIE)) == 86
    assert round(distance_m(*PYRAMIDE, *BOULANGERIE)) == 1279
    assert round(distance_m(*OPERA, *LYON) / 1000) == 394
    assert distance_m(*OPERA, *OPERA) == 0


def test_distances_are_the_same_both_ways_and_across_the_antimeridian():
    assert distance_m(*OPERA, *LYON) == pytest.approx(distance_m(*LYON, *OPERA))
    assert round(distance_m(0, 179.999, 0, -179.999)) == 222  # two longitudes 0.002° apart


def test_antipodes_are_half_the_circumference_apart():
    assert round(distance_m(0, 0, 0, 180) / 1000) == 20_015


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (0, "0 m"),
        (86.2, "86 m"),
        (200, "200 m"),
        (999.4, "999 m"),
        (999.6, "1.0 km"),
        (1000, "1.0 km"),
        (1279.5, "1.3 km"),
        (391_499, "391.5 km"),
    ],
)
def test_metres_under_a_kilometre_and_kilometres_with_one_decimal_above(metres, text):
    assert distance_text(metres) == text


def test_beyond_the_radius_the_user_is_told_how_far_and_the_radius_allowed():
    assert (
        too_far(1279.5, 200, "Boulangerie Dupont Paris")
        == "1.3 km from Boulangerie Dupont Paris, allowed 200 m"
    )
    assert too_far(2500, 1500, "Jeanne Dupont") == "2.5 km from Jeanne Dupont, allowed 1.5 km"


def test_within_the_radius_to_the_metre_nothing_is_said():
    assert too_far(86, 200, "Boulangerie Dupont Paris") is None
    assert too_far(200.4, 200, "Boulangerie Dupont Paris") is None  # shown and stored as 200 m
    assert (
        too_far(200.6, 200, "Boulangerie Dupont Paris")
        == "201 m from Boulangerie Dupont Paris, allowed 200 m"
    )
