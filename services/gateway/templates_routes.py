"""HTTP routes for interaction templates: list, create, change, delete, run on a record."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import (
    created_response,
    json_response,
    read_body,
    route,
)
from services.interactions import template_schemas as work_api

V1 = "/api/v1"


class TemplatesRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    auth: Any

    @route("GET", f"{V1}/templates", summary="The organisation's interaction templates", tag="templates")
    def list_templates(self, request: Request) -> Response:
        self.auth.caller()
        return json_response({"templates": self.interactions.list_templates()})

    @route(
        "POST",
        f"{V1}/templates",
        summary="Create an interaction template (tags in the subject are checked now)",
        tag="templates",
        admin=True,
        body=work_api.TemplateCreate,
        status=201,
        replay_status=200,
        errors=(409,),
        extra={
            "description": "Admin only. Tags: `{year}` `{month}` `{day}` (the date of the run, in the "
            "running user's time zone), `{company_id}` `{company_name}` `{contact_name}` (of the run), "
            "`{user_name}` (who runs it), `{counter}` (the template's counter, one more per run; "
            "`{counter:04}` pads it with zeros). `{{` and `}}` are literal braces. An unknown tag is "
            "refused with 422 naming `subject`."
        },
    )
    def create_template(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, work_api.TemplateCreate)
        result = self.interactions.create_template(body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/templates/{result['id']}")

    @route(
        "PATCH",
        f"{V1}/templates/<string:template_id>",
        summary="Change an interaction template",
        tag="templates",
        admin=True,
        body=work_api.TemplateUpdate,
        errors=(404,),
    )
    def update_template(self, request: Request, template_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, work_api.TemplateUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.interactions.update_template(template_id, changes))

    @route(
        "DELETE",
        f"{V1}/templates/<string:template_id>",
        summary="Delete an interaction template (the interactions it created stay)",
        tag="templates",
        admin=True,
        status=204,
        errors=(404,),
    )
    def delete_template(self, request: Request, template_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.interactions.delete_template(template_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/templates/<string:template_id>/run",
        summary="Run a template: create its interaction, tags filled",
        tag="templates",
        body=work_api.TemplateRun,
        body_required=False,
        status=201,
        errors=(403, 404, 409),
    )
    def run_template(self, request: Request, template_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, work_api.TemplateRun, required=False)
        result = self.interactions.run_template(template_id, body.model_dump(mode="json", exclude_unset=True))
        return json_response(result, status=201, headers={"Location": f"{V1}/interactions/{result['id']}"})
