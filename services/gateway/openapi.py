"""The OpenAPI 3.1 document, generated from the routes themselves."""

from __future__ import annotations

import inspect
import re
from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from pydantic import BaseModel

from services.gateway.http import ApiRoute, RouteSpec

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
_TEXT = {"type": "string"}

STATUS_TEXT = {
    400: "Malformed request",
    401: "Missing, expired or invalid credentials",
    403: "Not allowed (read-only user, or admin only)",
    404: "Not found (also for records of another organisation)",
    409: "Conflict with the current state",
    411: "Send the body with a Content-Length header",
    413: "Request body too large",
    414: "Query string too long",
    415: "Unsupported content type",
    422: "Invalid input; `errors` names each field",
    429: "Too many requests; see Retry-After",
    503: "A service did not answer in time",
}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]]
    # The request's id, as in the X-Request-ID response header.
    request_id: str


def openapi_path(url: str) -> str:
    return _CONVERTER.sub(r"{\1}", url)


def routes_of(service_cls: type) -> list[tuple[str, str, RouteSpec | None, str]]:
    """(method, url, spec, handler name) for every HTTP entrypoint of the service."""
    found = []
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ApiRoute):
                for verb in entrypoint.method.split(","):
                    found.append((verb.strip().upper(), entrypoint.url, entrypoint.spec, name))
    return sorted(found, key=lambda item: (item[1], item[0]))


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        self.schemas.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(url: str, spec: RouteSpec, components: _Components) -> list[dict[str, Any]]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": spec.path_params.get(name, {"type": "string", "minLength": 1, "maxLength": 100}),
        }
        for name in _CONVERTER.findall(url)
    ]
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            prop = {key: value for key, value in prop.items() if key != "title"}
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": prop,
                }
            )
    for name, schema in spec.headers.items():
        parameters.append({"name": name, "in": "header", "required": False, "schema": schema})
    return parameters


def build_document(service_cls: type, version: str = "0.1.0") -> dict[str, Any]:
    components = _Components()
    problem_ref = components.ref(Problem, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for verb, url, spec, name in routes_of(service_cls):
        if spec is None or not spec.documented:
            continue
        operation: dict[str, Any] = {
            "operationId": name,
            "summary": spec.summary,
            "tags": [spec.tag],
            "parameters": _parameters(url, spec, components),
            "responses": {},
        }
        if spec.body is not None or spec.raw_body:
            # A raw body (not JSON) is text of its media type.
            body = components.ref(spec.body, "validation") if spec.body is not None else _TEXT
            operation["requestBody"] = {
                "required": spec.body_required,
                "content": {spec.request_media_type: {"schema": body}},
            }
        success: dict[str, Any] = {"description": "Success"}
        if spec.response is not None:
            success["content"] = {
                spec.response_media_type: {"schema": components.ref(spec.response, "serialization")}
            }
        elif spec.response_media_type != "application/json":
            success["content"] = {spec.response_media_type: {"schema": _TEXT}}
        operation["responses"][str(spec.status)] = success
        if spec.replay_status is not None:
            operation["responses"][str(spec.replay_status)] = {
                **success,
                "description": "The same create was already applied (idempotent replay)",
            }
        statuses = set(spec.errors)
        if spec.body is not None or spec.raw_body:
            statuses |= {400, 413, 415, 422}
        if spec.query is not None or _CONVERTER.search(url):
            statuses |= {422}
        if spec.query is not None:
            statuses |= {414}
        if spec.auth:
            operation["security"] = [{"bearer": []}]
            statuses |= {401, 503}
        if spec.admin:
            statuses |= {403}
            operation["description"] = "Admin only."
        for status in sorted(statuses):
            operation["responses"][str(status)] = {
                "description": STATUS_TEXT.get(status, "Error"),
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        if not spec.auth:
            operation["security"] = []
        operation.update(spec.extra)
        paths.setdefault(openapi_path(url), {})[verb.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CRM API",
            "version": version,
            "description": "JSON API of the CRM back end. Errors are RFC 9457 problem documents.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Access token from /api/v1/auth/login, or an API token (crm_...)",
                }
            },
        },
    }
