"""What a check-in accepts: where the phone is, and how sure it is of it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

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


# Outputs: documented for the OpenAPI document; the service returns plain dicts.


class PlaceOut(BaseModel):
    kind: Literal["company", "contact"]
    id: str
    name: str


class CheckInOut(BaseModel):
    id: str
    interaction_id: str
    user_id: str
    latitude: float
    longitude: float
    accuracy_m: float
    place: PlaceOut | None = Field(
        description="The first linked company with a position, else the first linked contact with one"
    )
    position_known: bool = Field(description="False when no linked company or contact has a position")
    distance_m: int | None = Field(description="Metres from the place (great circle), rounded; null: unknown")
    radius_m: int | None = Field(description="The type's check-in radius at the time; null: none required")
    note: str | None = Field(description="Says why no distance was measured, when none was")
    checked_in_at: str
    checked_out_at: str | None
    duration_seconds: int | None = Field(description="Set by the check-out")


class CheckInList(BaseModel):
    check_ins: list[CheckInOut]
