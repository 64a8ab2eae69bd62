"""The OpenAPI 3.1 document, generated from the routes themselves."""

from __future__ import annotations

import inspect
import re
from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from pydantic import BaseModel

from services.gateway.http import ApiRoute, RouteSpec, created_response, json_response

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
_TEXT = {"type": "string"}
_BYTES = {"type": "string", "format": "binary"}
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# Response headers, described once and referred to from each response that sends them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the caller's X-Request-ID or a new one), as in problem documents",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the new record (or the accepted job) is",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    "RateLimit": {
        "description": "IETF RateLimit field: nothing remains of the quota until it resets "
        '(`"name";r=0;t=<seconds>`)',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "IETF RateLimit-Policy field, when the limit reached is a quota: its name, quota and "
        'window in seconds (`"login-account";q=5;w=900`)',
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The record's version, for If-Match; of a calendar feed, a hash of its text, for "
        "If-None-Match",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long the answer may be reused, and by whom",
        "schema": {"type": "string"},
    },
}
# Helpers that add a header to the answer of the handler calling them.
HEADER_HELPERS = {created_response: "Location"}

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
    429: "Too many requests; see Retry-After (and RateLimit, RateLimit-Policy)",
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


def _is_binary(media_type: str) -> bool:
    return media_type.startswith("image/") and not media_type.endswith("+xml")


def openapi_path(url: str) -> str:
    return _CONVERTER.sub(r"{\1}", url)


def enum_var_name(value: str, index: int) -> str:
    """A constant name for an enum value that generators can use as is (``Etc/GMT+1`` is
    ``ETC_GMT_PLUS_1``), so that ``GMT0``, ``GMT+0`` and ``GMT-0`` stay three names."""
    name = re.sub(r"-(?=\d)", "_MINUS_", re.sub(r"\+(?=\d)", "_PLUS_", value))
    name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if not name:
        return f"VALUE_{index}"
    return name if name[0].isalpha() else f"VALUE_{name}"


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def tidy_schema(schema: Any) -> Any:
    """The schema as validators and generators take it: a ``default: null`` the schema itself
    refuses is dropped (the field is optional all the same), and string enums whose values are
    not plain names get ``x-enum-varnames``."""
    if isinstance(schema, list):
        return [tidy_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tidy = {key: tidy_schema(value) for key, value in schema.items()}
    if "default" in tidy and tidy["default"] is None and not _allows_null(tidy):
        del tidy["default"]
    values = tidy.get("enum")
    if isinstance(values, list) and any(
        isinstance(value, str) and not _IDENTIFIER.fullmatch(value) for value in values
    ):
        names: list[str] = []
        for index, value in enumerate(values):
            name = enum_var_name(str(value), index)
            names.append(name if name not in names else f"{name}_{index}")
        tidy["x-enum-varnames"] = names
    return tidy


def sent_headers(handler: Any) -> set[str]:
    """The response headers a handler adds itself, read from its source: the header's name
    written in it, or a helper of ``HEADER_HELPERS`` called."""
    try:
        source = inspect.getsource(handler)
    except (OSError, TypeError):
        return set()
    found = {name for name in RESPONSE_HEADERS if f'"{name}"' in source}
    for name, value in getattr(handler, "__globals__", {}).items():
        # By whatever name the handler's module imported the helper.
        if callable(value) and value in HEADER_HELPERS and f"{name}(" in source:
            found.add(HEADER_HELPERS[value])
    return found


def tags_versions() -> bool:
    """Whether ``json_response`` sends an ``ETag`` with a record that has a version (asked of
    it, so the document says so only when it does)."""
    return "ETag" in json_response({"id": "x-1", "version": 1}).headers


def _headers(names: set[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in sorted(names | {"X-Request-ID"})}


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
        required = name in spec.required_headers
        parameters.append({"name": name, "in": "header", "required": required, "schema": schema})
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
            "parameters": tidy_schema(_parameters(url, spec, components)),
            "responses": {},
        }
        if spec.body is not None or spec.raw_body:
            # A raw body (not JSON) is text of its media type.
            body = components.ref(spec.body, "validation") if spec.body is not None else _TEXT
            operation["requestBody"] = {
                "required": spec.body_required,
                "content": {spec.request_media_type: {"schema": body}},
            }
        sent = sent_headers(getattr(service_cls, name))
        if spec.response is not None and "version" in spec.response.model_fields and tags_versions():
            sent.add("ETag")
        success: dict[str, Any] = {"description": "Success", "headers": _headers(sent)}
        if spec.response is not None:
            success["content"] = {
                spec.response_media_type: {"schema": components.ref(spec.response, "serialization")}
            }
        elif spec.response_media_type == "*/*":
            # Any media type (a document's own); generators read it as bytes.
            success["content"] = {"*/*": {"schema": _BYTES}, "application/octet-stream": {"schema": _BYTES}}
        elif spec.response_media_type != "application/json":
            # One or several media types, comma-separated (the query chooses); images but SVG are bytes.
            success["content"] = {
                media_type: {"schema": _BYTES if _is_binary(media_type) else _TEXT}
                for media_type in spec.response_media_type.split(",")
            }
        operation["responses"][str(spec.status)] = success
        if "If-None-Match" in spec.headers:
            operation["responses"]["304"] = {
                "description": "Not modified: the ETag If-None-Match names is still the current one",
                "headers": _headers(sent & {"ETag", "Cache-Control"}),
            }
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
                "headers": _headers(
                    {"Retry-After", "RateLimit", "RateLimit-Policy"} if status == 429 else set()
                ),
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
            "schemas": tidy_schema(components.schemas),
            "headers": RESPONSE_HEADERS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Access token from /api/v1/auth/login, or an API token (crm_...)",
                }
            },
        },
    }
