"""HTTP routes of the interactions service: resources, their bookings, and projects."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway import list_preferences
from services.gateway.http import created_response, json_response, read_body, read_query, route
from services.gateway.list_preferences import plan_list
from services.gateway.schemas import ProjectListPage, ProjectListRequest
from services.gateway.views import announce_view
from services.interactions import resource_schemas as interactions_api

V1 = "/api/v1"


class ResourcesRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    preferences: Any
    auth: Any
    dispatch_event: Any

    # -- resources --------------------------------------------------------

    @route(
        "GET",
        f"{V1}/resources",
        summary="Rooms, vehicles and hotel rooms, by name",
        tag="resources",
        query=interactions_api.ResourceListQuery,
        response=interactions_api.ResourcePage,
    )
    def list_resources(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, interactions_api.ResourceListQuery)
        return json_response(
            self.interactions.list_resources(query.model_dump(mode="json", exclude_none=True))
        )

    @route(
        "POST",
        f"{V1}/resources",
        summary="Create a resource (room, vehicle, hotel room, other)",
        tag="resources",
        admin=True,
        body=interactions_api.ResourceCreate,
        response=interactions_api.ResourceOut,
        status=201,
        replay_status=200,
        errors=(409,),
    )
    def create_resource(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, interactions_api.ResourceCreate)
        result = self.interactions.create_resource(body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/resources/{result['id']}")

    @route(
        "GET",
        f"{V1}/resources/<string:resource_id>",
        summary="One resource",
        tag="resources",
        response=interactions_api.ResourceOut,
        errors=(404,),
    )
    def get_resource(self, request: Request, resource_id: str) -> Response:
        self.auth.caller()
        return json_response(self.interactions.get_resource(resource_id))

    @route(
        "PATCH",
        f"{V1}/resources/<string:resource_id>",
        summary="Change a resource; an inactive one keeps its bookings and takes no new ones",
        tag="resources",
        admin=True,
        body=interactions_api.ResourceUpdate,
        response=interactions_api.ResourceOut,
        errors=(404,),
    )
    def update_resource(self, request: Request, resource_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, interactions_api.ResourceUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.interactions.update_resource(resource_id, changes))

    @route(
        "GET",
        f"{V1}/resources/<string:resource_id>/planning",
        summary="A resource's bookings over days (UTC, both included), with their interactions",
        tag="resources",
        query=interactions_api.PlanningQuery,
        response=interactions_api.ResourcePlanningOut,
        errors=(404,),
    )
    def resource_planning(self, request: Request, resource_id: str) -> Response:
        self.auth.caller()
        query = read_query(request, interactions_api.PlanningQuery)
        return json_response(self.interactions.resource_planning(resource_id, query.model_dump(mode="json")))

    # -- bookings ---------------------------------------------------------

    @route(
        "PUT",
        f"{V1}/interactions/<string:interaction_id>/resources/<string:resource_id>",
        summary="Book a resource for an interaction's time (a double booking is refused "
        "unless the organisation allows it)",
        tag="resources",
        response=interactions_api.BookingOut,
        errors=(403, 404, 409),
    )
    def book_resource(self, request: Request, interaction_id: str, resource_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.book_resource(interaction_id, resource_id))

    @route(
        "DELETE",
        f"{V1}/interactions/<string:interaction_id>/resources/<string:resource_id>",
        summary="Release a resource booked for an interaction",
        tag="resources",
        status=204,
        errors=(403, 404),
    )
    def release_resource(self, request: Request, interaction_id: str, resource_id: str) -> Response:
        self.auth.caller().require_writer()
        self.interactions.release_resource(interaction_id, resource_id)
        return Response(status=204)

    # -- projects ---------------------------------------------------------

    @route(
        "GET",
        f"{V1}/projects",
        summary="Projects, newest first, by linked user, contact or company",
        tag="projects",
        query=ProjectListRequest,
        response=ProjectListPage,
    )
    def list_projects(self, request: Request) -> Response:
        caller = self.auth.caller()
        query = read_query(request, ProjectListRequest)
        plan = plan_list(query, list_preferences.PROJECTS, lambda: self.preferences.of(caller))
        return json_response(plan.annotate(self.interactions.list_projects(plan.arguments)))

    @route(
        "POST",
        f"{V1}/projects",
        summary="Create a project with its users, contacts and companies",
        tag="projects",
        body=interactions_api.ProjectCreate,
        response=interactions_api.ProjectOut,
        status=201,
        replay_status=200,
        errors=(403, 409),
    )
    def create_project(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, interactions_api.ProjectCreate)
        result = self.interactions.create_project(body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/projects/{result['id']}")

    @route(
        "GET",
        f"{V1}/projects/<string:project_id>",
        summary="One project with its users, contacts and companies",
        tag="projects",
        response=interactions_api.ProjectOut,
        errors=(404,),
    )
    def get_project(self, request: Request, project_id: str) -> Response:
        caller = self.auth.caller()
        project = self.interactions.get_project(project_id)
        announce_view(self.dispatch_event, caller, "projects", project_id)
        return json_response(project)

    @route(
        "PATCH",
        f"{V1}/projects/<string:project_id>",
        summary="Change a project; a list given replaces its users, contacts or companies",
        tag="projects",
        body=interactions_api.ProjectUpdate,
        response=interactions_api.ProjectOut,
        errors=(403, 404),
    )
    def update_project(self, request: Request, project_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, interactions_api.ProjectUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.interactions.update_project(project_id, changes))

    @route(
        "DELETE",
        f"{V1}/projects/<string:project_id>",
        summary="Archive a project; its links stay, its interactions keep their project_id",
        tag="projects",
        status=204,
        errors=(403, 404),
    )
    def delete_project(self, request: Request, project_id: str) -> Response:
        self.auth.caller().require_writer()
        self.interactions.delete_project(project_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/projects/<string:project_id>/restore",
        summary="Restore an archived project with its links (409 if it is not archived)",
        tag="projects",
        body_required=False,
        response=interactions_api.ProjectOut,
        errors=(403, 404, 409),
    )
    def restore_project(self, request: Request, project_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.interactions.restore_project(project_id))

    @route(
        "DELETE",
        f"{V1}/projects/<string:project_id>/purge",
        summary="Delete an archived project for good; its interactions leave it (admin)",
        tag="projects",
        admin=True,
        status=204,
        errors=(404, 409),
    )
    def purge_project(self, request: Request, project_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.interactions.purge_project(project_id)
        return Response(status=204)

    @route(
        "GET",
        f"{V1}/projects/<string:project_id>/planning",
        summary="A project's interactions over days (UTC, both included), by start",
        tag="projects",
        query=interactions_api.PlanningQuery,
        response=interactions_api.ProjectPlanningOut,
        errors=(404,),
    )
    def project_planning(self, request: Request, project_id: str) -> Response:
        self.auth.caller()
        query = read_query(request, interactions_api.PlanningQuery)
        return json_response(self.interactions.project_planning(project_id, query.model_dump(mode="json")))
