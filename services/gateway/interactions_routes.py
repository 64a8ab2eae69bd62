"""HTTP routes of the interactions service: interactions, types, participants, agenda, reports."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway import list_preferences
from services.gateway.http import created_response, json_response, read_body, read_query, route
from services.gateway.list_preferences import plan_list
from services.gateway.schemas import InteractionListRequest
from services.gateway.views import announce_view
from services.interactions import schemas as interactions_api

V1 = "/api/v1"


class InteractionsRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    preferences: Any
    auth: Any
    dispatch_event: Any

    # -- types ----------------------------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/interaction-types",
        summary="The organisation's interaction types and statuses",
        tag="interactions",
    )
    def list_interaction_types(self, request: Request) -> Response:
        self.auth.caller()
        return json_response({"types": self.interactions.list_types()})

    @route(
        "PUT",
        f"{V1}/interaction-types/<string:type_key>",
        summary="Create or replace an interaction type and its statuses",
        tag="interactions",
        admin=True,
        body=interactions_api.TypeUpdate,
        path_params={"type_key": {"type": "string", "pattern": "^[a-z0-9_]{1,50}$"}},
    )
    def put_interaction_type(self, request: Request, type_key: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, interactions_api.TypeUpdate)
        return json_response(self.interactions.put_type(type_key, body.model_dump(mode="json")))

    # -- interactions ---------------------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/interactions",
        summary="Interactions, newest first (filter by user, type, status, project, contact, company)",
        tag="interactions",
        query=InteractionListRequest,
    )
    def list_interactions(self, request: Request) -> Response:
        caller = self.auth.caller()
        query = read_query(request, InteractionListRequest)
        plan = plan_list(query, list_preferences.INTERACTIONS, lambda: self.preferences.of(caller))
        return json_response(plan.annotate(self.interactions.list_interactions(plan.arguments)))

    @route(
        "POST",
        f"{V1}/interactions",
        summary="Create an interaction",
        tag="interactions",
        body=interactions_api.InteractionCreate,
        status=201,
        replay_status=200,
        errors=(403, 409),
    )
    def create_interaction(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, interactions_api.InteractionCreate)
        result = self.interactions.create_interaction(body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/interactions/{result['id']}")

    @route(
        "GET",
        f"{V1}/interactions/<string:interaction_id>",
        summary="One interaction with contacts, companies, participants and resources",
        tag="interactions",
        errors=(404,),
    )
    def get_interaction(self, request: Request, interaction_id: str) -> Response:
        caller = self.auth.caller()
        interaction = self.interactions.get_interaction(interaction_id)
        announce_view(self.dispatch_event, caller, "interactions", interaction_id)
        return json_response(interaction)

    @route(
        "PATCH",
        f"{V1}/interactions/<string:interaction_id>",
        summary="Change an interaction (409 on a stale version or a double booking)",
        tag="interactions",
        body=interactions_api.InteractionUpdate,
        errors=(403, 404, 409),
    )
    def update_interaction(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, interactions_api.InteractionUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.interactions.update_interaction(interaction_id, changes))

    @route(
        "DELETE",
        f"{V1}/interactions/<string:interaction_id>",
        summary="Archive an interaction (its owner or an admin); its links stay, its resources are released",
        tag="interactions",
        status=204,
        errors=(403, 404),
    )
    def delete_interaction(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        self.interactions.delete_interaction(interaction_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/restore",
        summary="Restore an archived interaction with its links (409 if it is not archived)",
        tag="interactions",
        body_required=False,
        errors=(403, 404, 409),
    )
    def restore_interaction(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.restore_interaction(interaction_id))

    @route(
        "DELETE",
        f"{V1}/interactions/<string:interaction_id>/purge",
        summary="Delete an archived interaction for good, with its notes, documents and links (admin)",
        tag="interactions",
        admin=True,
        status=204,
        errors=(404, 409),
    )
    def purge_interaction(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.interactions.purge_interaction(interaction_id)
        return Response(status=204)

    # -- participants ---------------------------------------------------------------------------

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/participants",
        summary="Invite a user, or add them as confirmed (organiser or admin)",
        tag="interactions",
        body=interactions_api.ParticipantAdd,
        status=201,
        replay_status=200,
        errors=(403, 404, 409),
    )
    def add_participant(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, interactions_api.ParticipantAdd)
        result = self.interactions.add_participant(interaction_id, body.model_dump(mode="json"))
        return created_response(result, f"{V1}/interactions/{interaction_id}")

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/participants/me/accept",
        summary="Accept your invitation",
        tag="interactions",
        body_required=False,
        errors=(403, 404),
    )
    def accept_invitation(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.respond_to_invitation(interaction_id, True))

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/participants/me/refuse",
        summary="Refuse your invitation",
        tag="interactions",
        body_required=False,
        errors=(403, 404),
    )
    def refuse_invitation(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.respond_to_invitation(interaction_id, False))

    @route(
        "DELETE",
        f"{V1}/interactions/<string:interaction_id>/participants/<string:user_id>",
        summary="Remove a participant (organiser or admin), or leave",
        tag="interactions",
        status=204,
        errors=(403, 404),
    )
    def remove_participant(self, request: Request, interaction_id: str, user_id: str) -> Response:
        self.auth.caller().require_writer()
        self.interactions.remove_participant(interaction_id, user_id)
        return Response(status=204)

    # -- agenda and reports ---------------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/agenda",
        summary="Interactions of one or several users over days (owned or taking part)",
        tag="agenda",
        query=interactions_api.AgendaQuery,
    )
    def agenda(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, interactions_api.AgendaQuery)
        return json_response(
            {"items": self.interactions.get_agenda(query.model_dump(mode="json", exclude_none=True))}
        )

    @route(
        "GET",
        f"{V1}/reports/pipeline",
        summary="Sales pipeline by company: count and sum of budgets (filter by types and statuses)",
        tag="reports",
        query=interactions_api.PipelineQuery,
    )
    def sales_pipeline(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, interactions_api.PipelineQuery)
        return json_response(
            self.interactions.sales_pipeline(query.model_dump(mode="json", exclude_none=True))
        )

    @route(
        "GET",
        f"{V1}/reports/unclosed-invoices",
        summary="Purchase and sales invoices not closed",
        tag="reports",
    )
    def unclosed_invoices(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.interactions.unclosed_invoices())
