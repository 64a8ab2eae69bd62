"""Nearest first: the records of a list around a position, with their distance, a page at a time.

How it stays fast without a spatial extension (SQLite and plain PostgreSQL alike):
the records in the bounding box of a circle are read from the (org_id, latitude,
longitude) index, only their ids and positions; their exact haversine distance is
computed here and those within the circle kept. The circle starts small and grows
(sized from the density found) until it holds one record more than the page, or
reaches ``within_m`` (or the whole Earth): every record nearer than the circle's
edge is then in hand, so the page is exact. Only the page's records are loaded whole.

Pages follow (distance, id): the cursor holds the position asked, ``within_m`` and the
distance and id of the last record served; the next page starts after it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.validation import is_id
from services.contacts import geo

# The first circle: a town's worth; then grown from the density found, at least doubled each time
# (so at most 15 rounds up to the whole Earth).
FIRST_RADIUS_M = 2_000.0


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    within_m: float | None = None

    @property
    def limit_m(self) -> float:
        return min(self.within_m, geo.FARTHEST_M) if self.within_m is not None else geo.FARTHEST_M


def _in_box(model: Any, box: geo.Box) -> Any:
    clause = and_(model.latitude >= box.south, model.latitude <= box.north)
    if box.longitudes:
        clause = and_(
            clause, or_(*(and_(model.longitude >= w, model.longitude <= e) for w, e in box.longitudes))
        )
    return clause


def _encode(listing: str, near: Near, distance: float, record_id: str) -> str:
    raw = json.dumps([listing, "near", near.latitude, near.longitude, near.within_m, distance, record_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(listing: str, near: Near, cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, kind, latitude, longitude, within_m, distance, last_id = json.loads(raw)
        if [name, kind, latitude, longitude, within_m] != [
            listing,
            "near",
            near.latitude,
            near.longitude,
            near.within_m,
        ]:
            raise ValueError("cursor of another list or position")
        if isinstance(distance, bool) or not isinstance(distance, int | float) or not is_id(last_id):
            raise ValueError("not a distance and an id")
        if not 0 <= distance <= geo.FARTHEST_M:
            raise ValueError("not a distance on Earth")
        return float(distance), last_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid(
            "cursor", "not a cursor this list returned for this near position and within_m"
        ) from None


def _records(session: Session, model: Any, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    return {record.id: record for record in session.scalars(select(model).where(model.id.in_(ids)))}


def nearest(
    session: Session,
    query: Select,
    model: Any,
    listing: str,
    near: Near,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Any, int]], str | None]:
    """The page of ``query``'s records with a position, nearest first: [(record, distance_m)] and the
    next page's cursor (None on the last). ``within_m`` leaves out records further away."""
    after = _decode(listing, near, cursor) if cursor is not None else None
    positioned = query.with_only_columns(model.id, model.latitude, model.longitude).where(
        model.latitude.is_not(None), model.longitude.is_not(None)
    )
    radius = min(max(FIRST_RADIUS_M, after[0] * 1.5 if after else 0.0), near.limit_m)
    while True:
        box = geo.bounding_box(near.latitude, near.longitude, radius)
        found = [
            (geo.distance_m(near.latitude, near.longitude, latitude, longitude), record_id)
            for record_id, latitude, longitude in session.execute(positioned.where(_in_box(model, box)))
        ]
        inside = sorted(
            candidate
            for candidate in found
            if candidate[0] <= radius and (after is None or candidate > after)
        )
        if len(inside) > limit or radius >= near.limit_m:
            break
        # Sized so the circle would hold about twice what the page needs at the density found.
        wanted = (limit + 1) / max(len(inside), 1) * 2
        radius = min(near.limit_m, radius * max(2.0, math.sqrt(wanted)))
    page = inside[:limit]
    records = _records(session, model, [record_id for _, record_id in page])
    served = [(records[record_id], round(distance)) for distance, record_id in page if record_id in records]
    next_cursor = _encode(listing, near, *page[-1]) if len(inside) > limit else None
    return served, next_cursor
