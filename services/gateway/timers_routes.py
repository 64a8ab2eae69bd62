"""HTTP routes for timers (one running per user) and time totals."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import (
    json_response,
    read_query,
    route,
)
from services.interactions import timer_schemas as work_api

V1 = "/api/v1"


class TimersRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    auth: Any

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/timer/start",
        summary="Start your timer on an interaction (409 if one is already running)",
        tag="timer",
        status=201,
        errors=(403, 404, 409),
    )
    def start_timer(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.start_timer(interaction_id), status=201)

    @route(
        "POST",
        f"{V1}/timer/stop",
        summary="Stop your timer and book the time entry at your hourly cost (409 if none runs)",
        tag="timer",
        status=201,
        errors=(403, 409),
    )
    def stop_timer(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.stop_timer(), status=201)

    @route("GET", f"{V1}/timer", summary="Your running timer (timer null when none runs)", tag="timer")
    def get_timer(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.interactions.get_timer())

    @route(
        "GET",
        f"{V1}/time-totals",
        summary="Time and cost per currency booked on an interaction, a project or by a user (give one)",
        tag="timer",
        query=work_api.TimeTotalsQuery,
        errors=(404,),
    )
    def time_totals(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, work_api.TimeTotalsQuery)
        return json_response(self.interactions.time_totals(query.model_dump(mode="json", exclude_none=True)))
