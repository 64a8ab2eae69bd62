"""The OpenAPI document matches the gateway's routes, in both directions."""

from __future__ import annotations

import inspect
import re
import time
from unittest.mock import MagicMock

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.auth import Caller
from crm.errors import Forbidden
from services.gateway.http import ApiRoute, json_response
from services.gateway.openapi import build_document, enum_var_name, openapi_path, tidy_schema
from services.gateway.service import GatewayService

PUBLIC_PREFIXES = ("/api/",)
PUBLIC_PATHS = ("/healthz", "/readyz")


def _routes(admin_only: bool = False) -> list[tuple[str, str, str]]:
    """(METHOD, url, handler name) of every ApiRoute the gateway declares."""
    found = []
    for name, function in inspect.getmembers(GatewayService, inspect.isfunction):
        for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if not isinstance(entrypoint, ApiRoute):
                continue
            if admin_only and not (entrypoint.spec and entrypoint.spec.admin):
                continue
            for method in entrypoint.method.split(","):
                found.append((method.strip().upper(), entrypoint.url, name))
    return found


def _public(url: str) -> bool:
    return url.startswith(PUBLIC_PREFIXES) or url in PUBLIC_PATHS


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document(GatewayService)


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}


def test_every_public_route_is_documented_with_its_method(document):
    routed = {(method, openapi_path(url)) for method, url, _ in _routes() if _public(url)}

    assert routed - _documented(document) == set()


def test_every_documented_operation_has_a_route(document):
    routed = {(method, openapi_path(url)) for method, url, _ in _routes()}

    assert _documented(document) - routed == set()


def test_the_document_is_not_empty(document):
    assert ("POST", "/api/v1/auth/login") in _documented(document)
    assert ("GET", "/healthz") in _documented(document)
    assert document["openapi"] == "3.1.0"


def test_path_converters_become_named_parameters(document):
    operation = document["paths"]["/api/v1/users/{user_id}"]["patch"]

    assert not any("<" in path or ">" in path for path in document["paths"])
    assert {"name": "user_id", "in": "path", "required": True} == {
        key: value for key, value in operation["parameters"][0].items() if key in {"name", "in", "required"}
    }


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/api/v1/users/<string:user_id>", "/api/v1/users/{user_id}"),
        ("/api/v1/rooms/<int:room>/bookings/<booking_id>", "/api/v1/rooms/{room}/bookings/{booking_id}"),
        ("/healthz", "/healthz"),
    ],
)
def test_openapi_path_names_each_converter(url, path):
    assert openapi_path(url) == path


def test_every_path_parameter_of_a_path_is_declared(document):
    for path, operations in document["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == in_path, f"{method.upper()} {path}"


def test_every_schema_reference_resolves(document):
    references = set(re.findall(r'"#/components/schemas/([^"]+)"', str(document).replace("'", '"')))

    assert references
    assert references - set(document["components"]["schemas"]) == set()


def test_authenticated_operations_require_a_bearer_token_and_document_401(document):
    login = document["paths"]["/api/v1/auth/login"]["post"]
    me = document["paths"]["/api/v1/me"]["get"]

    assert login["security"] == []
    assert me["security"] == [{"bearer": []}]
    assert "401" in me["responses"]


def test_admin_operations_say_so(document):
    create_user = document["paths"]["/api/v1/users"]["post"]

    assert create_user["description"] == "Admin only."
    assert "403" in create_user["responses"]
    assert "201" in create_user["responses"]


def _caller(role: str, read_only: bool) -> Caller:
    return Caller("emile", "pomme", role, read_only, "s-1", int(time.time()) + 900)


def _refused(caller: Caller, method: str, url: str, handler: str) -> bool:
    """Whether the handler answers 403 to ``caller`` before doing anything."""
    auth = MagicMock()
    auth.caller.return_value = caller
    gateway = worker_factory(GatewayService, auth=auth, accounts=MagicMock())
    request = Request(EnvironBuilder(method=method, path=url, json={}).get_environ())
    path_values = {name: "x-1" for name in re.findall(r"<(?:[a-z]+:)?(\w+)>", url)}
    try:
        getattr(gateway, handler)(request, **path_values)
    except Forbidden:
        return True
    except Exception:  # the mocked accounts answer is not a real one; only 403 matters here
        return False
    return False


def _refused_as_read_only_member(method: str, url: str, handler: str) -> bool:
    """Whether the handler answers 403 to a read-only member (an admin check or a writer check)."""
    return _refused(_caller("member", read_only=True), method, url, handler)


def test_admin_operations_refuse_a_member_who_may_write_and_document_403(document):
    # A member who may write passes every writer check: only the admin check can refuse them.
    admin_routes = _routes(admin_only=True)

    assert len(admin_routes) >= 5
    for method, url, handler in admin_routes:
        assert _refused(_caller("member", read_only=False), method, url, handler), f"{method} {url}"
        assert "403" in document["paths"][openapi_path(url)][method.lower()]["responses"]


def test_admin_writes_refuse_a_read_only_admin(document):
    # An admin passes every admin check: only the writer check can refuse a read-only one.
    admin_writes = [route for route in _routes(admin_only=True) if route[0] != "GET"]

    assert len(admin_writes) >= 5
    for method, url, handler in admin_writes:
        assert _refused(_caller("admin", read_only=True), method, url, handler), f"{method} {url}"


def test_every_operation_that_can_answer_403_documents_it(document):
    undocumented = [
        f"{method} {openapi_path(url)}"
        for method, url, handler in _routes()
        if _public(url)
        and _refused_as_read_only_member(method, url, handler)
        and "403" not in document["paths"][openapi_path(url)][method.lower()]["responses"]
    ]

    assert undocumented == []


def test_idempotent_replay_of_a_user_create_is_documented(document):
    assert "200" in document["paths"]["/api/v1/users"]["post"]["responses"]


def test_the_document_passes_openapi_spec_validator(document):
    validate(document)


def test_a_default_the_schema_refuses_is_left_out(document):
    name = document["components"]["schemas"]["DocumentUploadForm"]["properties"]["name"]

    assert name["type"] == "string"
    assert "default" not in name


def test_a_nullable_field_keeps_its_null_default():
    assert tidy_schema({"anyOf": [{"type": "string"}, {"type": "null"}], "default": None})["default"] is None


def test_time_zones_that_differ_only_by_sign_get_distinct_enum_names(document):
    time_zone = document["components"]["schemas"]["UserCreate"]["properties"]["time_zone"]
    names = dict(zip(time_zone["enum"], time_zone["x-enum-varnames"], strict=True))

    assert [names["GMT0"], names["GMT+0"], names["GMT-0"]] == ["GMT0", "GMT_PLUS_0", "GMT_MINUS_0"]
    assert names["America/Port-au-Prince"] == "AMERICA_PORT_AU_PRINCE"
    assert len(set(names.values())) == len(names)


@pytest.mark.parametrize(
    ("value", "name"), [("Etc/GMT+1", "ETC_GMT_PLUS_1"), ("3.0", "VALUE_3_0"), (";", "VALUE_4")]
)
def test_enum_var_name_is_a_constant_name(value, name):
    assert enum_var_name(value, 4) == name


def test_every_response_documents_x_request_id(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                assert "X-Request-ID" in response["headers"], f"{method.upper()} {path} {status}"


def test_creates_document_location_and_rate_limits_retry_after(document):
    create_contact = document["paths"]["/api/v1/contacts"]["post"]["responses"]
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]

    assert "Location" in create_contact["201"]["headers"]
    assert "Location" in document["paths"]["/api/v1/imports"]["post"]["responses"]["202"]["headers"]
    assert "Location" not in document["paths"]["/api/v1/me"]["get"]["responses"]["200"]["headers"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(login["429"]["headers"])
    assert set(document["components"]["headers"]) >= {"Location", "Retry-After", "ETag", "X-Request-ID"}


def test_a_versioned_record_documents_its_etag_exactly_when_the_gateway_sends_one(document):
    responses = document["paths"]["/api/v1/contacts/{contact_id}"]
    sent = "ETag" in json_response({"id": "c-1", "version": 3}).headers

    assert ("ETag" in responses["get"]["responses"]["200"]["headers"]) is sent
    assert ("ETag" in responses["patch"]["responses"]["200"]["headers"]) is sent
    assert "ETag" not in document["paths"]["/api/v1/contacts"]["get"]["responses"]["200"]["headers"]


def test_a_download_of_any_media_type_is_also_described_as_bytes(document):
    download = document["paths"]["/api/v1/documents/{document_id}/content"]["get"]["responses"]["200"]

    assert set(download["content"]) == {"*/*", "application/octet-stream"}
