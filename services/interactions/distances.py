"""Distances between a phone and the client it visits, and how a user reads them: plain functions.

The Earth is taken as a sphere of mean radius (IUGG, 6,371,008.8 m), as the contacts
service does for its nearest-first lists: the haversine distance is then within 0.5 % of
the ellipsoid's, plenty to tell whether a user stands within a few hundred metres of a
client. (Written again here rather than imported: one service does not import another.)
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8


def distance_m(latitude: float, longitude: float, other_latitude: float, other_longitude: float) -> float:
    """The great-circle distance in metres between two WGS84 positions (haversine)."""
    phi1, phi2 = math.radians(latitude), math.radians(other_latitude)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(other_longitude - longitude) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def distance_text(metres: float) -> str:
    """``"86 m"`` under a kilometre, ``"1.3 km"`` (one decimal) from a kilometre on."""
    rounded = round(metres)
    if rounded < 1000:
        return f"{rounded} m"
    return f"{metres / 1000:.1f} km"


def too_far(distance: float, radius_m: int, place: str) -> str | None:
    """What a user beyond ``radius_m`` of ``place`` is told
    (``"1.3 km from Boulangerie Dupont Paris, allowed 200 m"``); None within it. Distances
    are compared to the metre, as they are shown and stored."""
    if round(distance) <= radius_m:
        return None
    return f"{distance_text(distance)} from {place}, allowed {distance_text(radius_m)}"
