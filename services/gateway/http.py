"""The gateway's HTTP entrypoint: problem JSON for every error, CORS, body limits.

``route`` is nameko's ``http`` entrypoint plus the metadata the OpenAPI
document is generated from, so the document cannot drift from the routes.
"""

from __future__ import annotations

import json
import socket
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Request, Response

from crm import json_depth, logs
from crm.auth import ACCESS_TOKEN_KEY
from crm.errors import (
    CrmError,
    IdAlreadyUsed,
    MalformedRequest,
    StaleVersion,
    UnsupportedMediaType,
    field_error,
)
from crm.rpc import CachedSignatureCheck
from crm.validation import Model, validate
from services.gateway import idempotency, metrics, preconditions
from services.gateway.problems import problem_from_exception, problem_response, with_request_id
from services.gateway.query_parameters import refuse_unknown_query

URL_LENGTH_LIMIT = 65536
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-ID"
CORS_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"


@dataclass(frozen=True)
class RouteSpec:
    """What the OpenAPI document says about a route."""

    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    admin: bool = False
    errors: tuple[int, ...] = ()
    body_required: bool = True
    replay_status: int | None = None
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Optional request headers the route reads (name -> JSON schema), such as Idempotency-Key.
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Those of ``headers`` the route refuses to go without (422 naming the header).
    required_headers: tuple[str, ...] = ()
    documented: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    # Another request media type than JSON means a raw text body (``read_text``); another
    # response media type, a text body (``attachment_response``).
    request_media_type: str = "application/json"
    response_media_type: str = "application/json"
    # The route's own body limit, from settings, when gateway.max_body_bytes does not fit it.
    max_body_bytes: Callable[[Any], int] | None = None
    # Set by ``route``: an Idempotency-Key names the new record's id (``idempotency``).
    idempotent_ids: bool = False

    @property
    def raw_body(self) -> bool:
        return self.request_media_type != "application/json"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class GatewayApp(WsgiApp):
    """Nameko's WSGI app, answering unknown routes and preflights our way.

    Every request gets a request id (``X-Request-ID``, or a new one): the workers it starts
    carry it in their context data, its answer and problem document name it, and one
    access-log line records it.
    """

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        request = Request(environ, shallow=True)
        request_id = logs.request_id_from(request.headers.get(logs.REQUEST_ID_HEADER))
        # The workers' context data; the gateway's worker adds the caller's token to it.
        request.context_data = {logs.REQUEST_ID_KEY: request_id}
        bound = logs.bind(logs.RequestContext(request_id, request.context_data))
        try:
            route, response = self._answer(request, environ)
            response = with_request_id(response, request_id)
            self._add_cors(request, response, self.server.settings.gateway.cors_origins)
            if self.server.settings.gateway.access_log:
                duration = time.perf_counter() - started
                logs.log_access(request.method, route, response.status_code, duration, request_id)
        finally:
            logs.unbind(bound)
        return response(environ, start_response)

    def _answer(self, request: Request, environ: dict[str, Any]) -> tuple[str, Response]:
        """The route template that answered (``-`` for none) and its answer."""
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            return "-", Response(status=204)
        adapter = self.url_map.bind_to_environ(environ)
        route = "-"
        try:
            provider, values = adapter.match()
            route = provider.url
            if any("\x00" in value for value in values.values() if isinstance(value, str)):
                raise NotFound()  # no record's id holds NUL, and PostgreSQL cannot even look one up
            request.path_values = values
            return route, provider.handle_request(request)
        except HTTPException as exc:
            return route, problem_from_exception(exc)

    @staticmethod
    def _add_cors(request: Request, response: Response, allowed: list[str]) -> None:
        origin = request.headers.get("Origin")
        if not origin or not ("*" in allowed or origin in allowed):
            return
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Expose-Headers"] = (
            "ETag, Retry-After, RateLimit, RateLimit-Policy, Location, X-Request-ID"
        )
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = CORS_ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"


class GatewayServer(WebServer):
    @property
    def settings(self) -> Any:
        return self.container.config["CRM"]

    def get_wsgi_app(self) -> GatewayApp:
        return GatewayApp(self)

    def get_wsgi_server(
        self, sock: Any, wsgi_app: Any, protocol: Any = HttpOnlyProtocol, debug: bool = False
    ) -> Any:
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        # Long query strings reach the routes, whose validation answers with a
        # problem naming the parameter (the server's own 414 is bare text).
        server.url_length_limit = URL_LENGTH_LIMIT
        # The gateway writes its own access log (``crm.logs.log_access``), with the route and
        # request id; eventlet's would be a second line per request.
        server.log_output = False
        return server

    def process_request(self, sock: Any, address: Any) -> None:
        # The server writes a large answer's head and body apart: with Nagle's algorithm the body
        # waits for the client's delayed ACK of the head, 40 ms on Linux (a 40 KB sync pull took
        # 64 ms instead of 20).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)


class ApiRoute(CachedSignatureCheck, HttpRequestHandler):
    """An HTTP route whose errors become problem JSON."""

    server = GatewayServer()

    def __init__(self, method: str, url: str, spec: RouteSpec | None = None, **kwargs: Any):
        self.spec = spec
        # Logged as one line by the container (``crm.logs.ExpectedErrorFilter``) when a 4xx.
        kwargs.setdefault("expected_exceptions", (CrmError, HTTPException))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Request) -> Response:
        started = time.perf_counter()
        response = self._answer(request)
        metrics.observe(request.method, self.url, response.status_code, time.perf_counter() - started)
        return response

    def body_limit(self, settings: Any) -> int:
        """The largest body this route reads: its own limit, else gateway.max_body_bytes."""
        if self.spec is not None and self.spec.max_body_bytes is not None:
            return self.spec.max_body_bytes(settings)
        return settings.gateway.max_body_bytes

    def _answer(self, request: Request) -> Response:
        request.shallow = False
        settings = self.container.config["CRM"]
        limit = self.body_limit(settings)
        # Also enforced while reading, for bodies sent without Content-Length.
        request.max_content_length = limit
        try:
            if (request.content_length or 0) > limit:
                return problem_response(
                    413, "Payload too large", f"request body is over {limit} bytes", "too-large"
                )
            if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
                # The WSGI server cannot read a body without a length.
                return problem_response(
                    411, "Length required", "send the body with a Content-Length header", "length-required"
                )
            # Without the token a route needs, its handler answers 401 before anything else.
            checked = self.spec is not None and (not self.spec.auth or bearer_token(request) is not None)
            if checked:
                refuse_unknown_query(request.args, self.spec.query)
            if checked and self.spec.idempotent_ids and (key := idempotency.key_of(request.headers)):
                scope = idempotency.caller_scope(bearer_token(request))
                request.idempotent_id = idempotency.record_id(scope, request.path, key)
            if checked and self.method.upper() in preconditions.CONDITIONAL_METHODS:
                request.expected_versions = preconditions.if_match(
                    request.headers.get(preconditions.IF_MATCH)
                )
                refused = self._precondition_refused(request) if request.expected_versions else None
                if refused is not None:
                    return refused
            context_data = getattr(request, "context_data", {})
            context_data[ACCESS_TOKEN_KEY] = bearer_token(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data=context_data,
                handle_result=partial(self.handle_result, event),
            )
        except Exception as exc:
            return problem_from_exception(exc)
        try:
            result = event.wait()
        except IdAlreadyUsed as exc:
            reused = getattr(request, "idempotent_id", None) is not None
            return problem_from_exception(idempotency.key_reused() if reused else exc, logged=True)
        except StaleVersion as exc:
            if getattr(request, "expected_versions", None) is None:
                return problem_from_exception(exc, logged=True)
            current = exc.errors[0]["message"] if exc.errors else ""
            return problem_from_exception(preconditions.stale_from(current), logged=True)
        except Exception as exc:  # raised by the worker, whose container logged it
            return problem_from_exception(exc, logged=True)
        try:
            return self.response_from_result(result)
        except Exception as exc:
            return problem_from_exception(exc)

    def _precondition_refused(self, request: Request) -> Response | None:
        """Check ``If-Match`` against the record as the route's read answers it: that
        answer (a 404...) when it is not 200, a 412 problem when the version differs."""
        read = next(
            (
                entrypoint
                for entrypoint in self.container.entrypoints
                if isinstance(entrypoint, ApiRoute)
                and entrypoint.url == self.url
                and "GET" in entrypoint.method.upper().split(",")
            ),
            None,
        )
        current = read._answer(request) if read is not None else None
        if current is not None and current.status_code != 200:
            return current
        record = json.loads(current.get_data()) if current is not None else None
        try:
            preconditions.check_if_match(request.expected_versions, record)
        except preconditions.PreconditionFailed as exc:
            return problem_from_exception(exc)
        return None

    def response_from_exception(self, exc: Exception) -> Response:
        return problem_from_exception(exc)


def route(method: str, url: str, **spec: Any) -> Any:
    """Declare an HTTP route with its OpenAPI description."""
    documented = spec.pop("documented", True)
    if not spec:
        return ApiRoute.decorator(method, url, spec=None)
    # Every route refuses unknown query parameters (422); a change of one record takes If-Match.
    spec["errors"] = (*spec.get("errors", ()), 422)
    if method in preconditions.CONDITIONAL_METHODS and "<" in url:
        spec["headers"] = {**spec.get("headers", {}), preconditions.IF_MATCH: preconditions.IF_MATCH_SCHEMA}
        spec["errors"] = (*spec["errors"], 412)
    if method == "POST":
        idempotency.declare(spec)
    return ApiRoute.decorator(method, url, spec=RouteSpec(documented=documented, **spec))


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``payload`` as JSON; a record with a version gets its ``ETag``."""
    headers = dict(headers or {})
    tag = preconditions.etag_of(payload)
    if tag is not None:
        headers.setdefault("ETag", tag)
    return Response(json.dumps(payload), status=status, mimetype="application/json", headers=headers)


def created_response(result: dict[str, Any], location: str) -> Response:
    """201 with Location for a new record; 200 for an idempotent replay (``created`` false)."""
    created = result.pop("created", True)
    return json_response(result, status=201 if created else 200, headers={"Location": location})


# Unicode categories a file name shown to a user may not hold: controls, format characters
# (the bidi overrides that make "cod.exe" of "exe.doc", zero-width joiners), lone surrogates,
# line and paragraph separators.
_UNSHOWABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def showable_file_name(file_name: str) -> str:
    """``file_name`` without the characters that hide or reorder what a user reads."""
    kept = "".join(char for char in file_name if unicodedata.category(char) not in _UNSHOWABLE_CATEGORIES)
    return kept.strip() or "download"


def attachment_response(content: str, media_type: str, file_name: str) -> Response:
    """``content`` as a UTF-8 download named ``file_name``: an ASCII name every client reads,
    and the name as given (RFC 6266 ``filename*``), less bidi and control characters, for the
    clients that read it."""
    file_name = showable_file_name(file_name)
    stem, dot, extension = file_name.rpartition(".") if "." in file_name else (file_name, "", "")
    fallback = secure_filename(file_name) if secure_filename(stem) else ""
    fallback = fallback or secure_filename(f"download{dot}{extension}") or "download"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    return Response(content, mimetype=media_type, headers={"Content-Disposition": disposition})


def read_json(request: Request, required: bool = True) -> Any:
    """The request body as JSON; an empty body is refused unless not ``required``."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise MalformedRequest("a JSON body is required")
        return {}
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {mimetype}")
    try:
        return json_depth.loads(raw)
    except json_depth.TooDeeplyNested as exc:
        raise MalformedRequest(f"request body: {exc}", [field_error("body", str(exc))]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"request body is not valid JSON: {exc}") from None


def read_body(request: Request, schema: type[Model], required: bool = True) -> Model:
    """The JSON body validated against ``schema`` (errors name each field)."""
    data = read_json(request, required)
    data = preconditions.with_expected_version(data, schema, getattr(request, "expected_versions", None))
    data = idempotency.with_record_id(data, schema, getattr(request, "idempotent_id", None))
    return validate(schema, data)


def read_query(request: Request, schema: type[Model]) -> Model:
    """Query parameters validated against ``schema`` (the route refused unknown ones)."""
    known = {name: request.args.get(name) for name in schema.model_fields if name in request.args}
    return validate(schema, known)


def read_text(request: Request, media_types: tuple[str, ...], max_bytes: int) -> str:
    """A raw text body of one of ``media_types`` (or of none said), decoded by its charset, UTF-8 by default.

    Over ``max_bytes`` is 413, another media type or an unknown charset 415, bytes
    that are not of the charset 400.
    """
    mimetype = request.mimetype
    if mimetype and mimetype not in media_types:
        raise UnsupportedMediaType(f"Content-Type must be {' or '.join(media_types)}, not {mimetype}")
    raw = request.get_data(cache=False)
    if len(raw) > max_bytes:
        raise RequestEntityTooLarge(f"request body is over {max_bytes} bytes")
    if not raw.strip():
        raise MalformedRequest(f"a {media_types[0]} body is required")
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        return raw.decode(charset).removeprefix("\ufeff")
    except LookupError:
        raise UnsupportedMediaType(f"unknown charset {charset}") from None
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"request body is not {charset} text (byte {exc.start})") from None


def client_address(request: Request, trust_forwarded_for: bool) -> str | None:
    """The caller's address. Behind a trusted proxy, the last X-Forwarded-For entry: the one
    that proxy added (entries to its left come from the client, which can write anything)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return request.remote_addr
