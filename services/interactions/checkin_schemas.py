"""What a check-in accepts: where the phone is, and how sure it is of it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm.validation import Id, StrictInput

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")]
# Metres, as phones report it (a 68 % circle); a cell tower's guess can be kilometres wide.
Accuracy = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False, description="Metres")]


class CheckInRequest(StrictInput):
    # A phone offline chooses the id; the same id with the same position is a replay.
    id: Id | None = None
    latitude: Latitude
    longitude: Longitude
    accuracy_m: Accuracy
