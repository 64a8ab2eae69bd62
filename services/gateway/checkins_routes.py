"""HTTP routes for geographic check-ins: a visit of an interaction's client, opened where the
phone is and closed by a check-out."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import created_response, json_response, read_body, route
from services.interactions import checkin_schemas as checkins_api

V1 = "/api/v1"


class CheckInsRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    auth: Any

    @route(
        "GET",
        f"{V1}/interactions/<string:interaction_id>/check-ins",
        summary="An interaction's check-ins (every user's visits), oldest first",
        tag="check-ins",
        response=checkins_api.CheckInList,
        errors=(404,),
    )
    def list_check_ins(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller()
        return json_response({"check_ins": self.interactions.list_check_ins(interaction_id)})

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/check-ins",
        summary=(
            "Check in where your phone is: records the visit's start and its distance to the "
            "interaction's company (or contact); 422 beyond the type's check-in radius, saying how "
            "far; 409 while your visit is open"
        ),
        tag="check-ins",
        body=checkins_api.CheckInRequest,
        response=checkins_api.CheckInOut,
        status=201,
        replay_status=200,
        errors=(403, 404, 409),
    )
    def check_in(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, checkins_api.CheckInRequest)
        result = self.interactions.check_in(interaction_id, body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/interactions/{interaction_id}/check-ins")

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/check-out",
        summary="Check out: closes your open visit and reports its duration (409 if none is open)",
        tag="check-ins",
        response=checkins_api.CheckInOut,
        errors=(403, 404, 409),
    )
    def check_out(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.check_out(interaction_id))
