"""HTTP routes for an interaction's timestamped notes."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import (
    created_response,
    json_response,
    read_body,
    route,
)
from services.interactions import note_schemas as work_api

V1 = "/api/v1"


class NotesRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    auth: Any

    @route(
        "GET",
        f"{V1}/interactions/<string:interaction_id>/notes",
        summary="An interaction's timestamped notes, oldest first",
        tag="notes",
        errors=(404,),
    )
    def list_notes(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller()
        return json_response({"notes": self.interactions.list_notes(interaction_id)})

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/notes",
        summary="Append a note, stamped with your name and time in your time zone (never changed)",
        tag="notes",
        body=work_api.NoteAppend,
        status=201,
        replay_status=200,
        errors=(403, 404, 409),
    )
    def append_note(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, work_api.NoteAppend)
        result = self.interactions.append_note(
            interaction_id, body.model_dump(mode="json", exclude_unset=True)
        )
        return created_response(result, f"{V1}/interactions/{interaction_id}/notes")
