"""Distances on the Earth and the latitude/longitude box around a circle: plain functions.

The Earth is taken as a sphere of mean radius (IUGG, 6,371,008.8 m): the
haversine distance is then within 0.5 % of the ellipsoid's, plenty to list
clients nearest first and to tell a user how far away one is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
# Half the circumference: no two points are further apart.
FARTHEST_M = math.pi * EARTH_RADIUS_M


def distance_m(latitude: float, longitude: float, other_latitude: float, other_longitude: float) -> float:
    """The great-circle distance in metres between two WGS84 positions (haversine)."""
    phi1, phi2 = math.radians(latitude), math.radians(other_latitude)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(other_longitude - longitude) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def parse_point(text: str) -> tuple[float, float]:
    """``"lat,lon"`` in WGS84 degrees, else ``ValueError`` saying what is wrong."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError('a position as "latitude,longitude" in degrees, such as "48.8566,2.3522"')
    try:
        latitude, longitude = (float(part.strip()) for part in parts)
    except ValueError:
        raise ValueError('a position as "latitude,longitude" in degrees, such as "48.8566,2.3522"') from None
    if not math.isfinite(latitude) or not -90 <= latitude <= 90:
        raise ValueError(f"latitude {parts[0].strip()} is not between -90 and 90")
    if not math.isfinite(longitude) or not -180 <= longitude <= 180:
        raise ValueError(f"longitude {parts[1].strip()} is not between -180 and 180")
    return latitude, longitude


@dataclass(frozen=True)
class Box:
    """Latitudes from ``south`` to ``north``; longitudes in one of ``longitudes`` (two ranges when the
    box crosses the antimeridian, none when every longitude is in: a polar cap or a huge radius)."""

    south: float
    north: float
    longitudes: tuple[tuple[float, float], ...]

    def holds(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and (
            not self.longitudes or any(west <= longitude <= east for west, east in self.longitudes)
        )


# A point exactly on the circle must not fall out of the box by a rounding error.
_MARGIN = 1e-9


def bounding_box(latitude: float, longitude: float, radius_m: float) -> Box:
    """The smallest latitude/longitude box holding every point within ``radius_m`` of the centre.

    (J. P. Matuschek, "Finding Points Within a Distance of a Latitude/Longitude Using Bounding
    Coordinates".) Near a pole the circle holds the pole, and then every longitude.
    """
    angle = radius_m / EARTH_RADIUS_M + _MARGIN
    south = latitude - math.degrees(angle)
    north = latitude + math.degrees(angle)
    if south <= -90 or north >= 90:
        return Box(max(south, -90.0), min(north, 90.0), ())
    reach = math.sin(angle) / math.cos(math.radians(latitude))
    if reach >= 1:
        return Box(south, north, ())
    spread = math.degrees(math.asin(reach))
    west, east = longitude - spread, longitude + spread
    if west < -180:
        return Box(south, north, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return Box(south, north, ((west, 180.0), (-180.0, east - 360)))
    return Box(south, north, ((west, east),))
