"""Errors to HTTP: the one table, and RFC 9457 problem documents."""

from __future__ import annotations

import json
import logging
from typing import Any

from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from crm.errors import (
    Conflict,
    CrmError,
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    MalformedRequest,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)
from services.gateway.preconditions import PreconditionFailed
from services.sync.exceptions import SyncConflict

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Most specific first: the first matching base class decides the status.
STATUS_BY_ERROR: list[tuple[type[Exception], int, str]] = [
    (UnsupportedMediaType, 415, "unsupported-media-type"),
    (MalformedRequest, 400, "malformed-request"),
    (InvalidInput, 422, "invalid-input"),
    (Unauthenticated, 401, "unauthenticated"),
    (InsufficientCredits, 402, "insufficient-credits"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (PreconditionFailed, 412, "precondition-failed"),
    (SyncConflict, 409, "sync-conflict"),
    (Conflict, 409, "conflict"),
    (RateLimited, 429, "rate-limited"),
    (ServiceUnavailable, 503, "service-unavailable"),
]


# Every problem type the gateway answers with, for the /docs/problems page.
PROBLEM_KINDS: list[tuple[int, str, str]] = [
    (400, "malformed-request", "the body is not JSON, is missing, or cannot be read"),
    (401, "unauthenticated", "no credentials, or an expired, forged or revoked token"),
    (402, "insufficient-credits", "not enough prepaid credits"),
    (403, "forbidden", "the caller may not do this: read-only user, or admin only"),
    (404, "not-found", "no such record (records of other organisations are not found either)"),
    (404, "unknown-route", "no such route"),
    (405, "method-not-allowed", "the route exists; the Allow header lists its methods"),
    (409, "conflict", "clashes with the current state: duplicate, stale version, last admin"),
    (
        409,
        "sync-conflict",
        "a pushed record changed on the server since the last pull: pull, then push again",
    ),
    (411, "length-required", "send the body with a Content-Length header (no chunked bodies)"),
    (412, "precondition-failed", "If-Match names another version than the record's; read it again"),
    (413, "too-large", "the body is over gateway.max_body_bytes, or over the limit of its route"),
    (415, "unsupported-media-type", "send Content-Type: application/json"),
    (422, "invalid-input", "a field holds a value we cannot accept; errors[] names each one"),
    (429, "rate-limited", "too many attempts; wait for Retry-After seconds"),
    (500, "internal", "our fault; it has been logged"),
    (503, "service-unavailable", "a service did not answer in time; try again"),
]


def problem_response(
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "type": f"/docs/problems#{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE, headers=headers or {})


def with_request_id(response: Response, request_id: str) -> Response:
    """Name the request in the ``X-Request-ID`` header, and in the body of a problem document."""
    response.headers["X-Request-ID"] = request_id
    if response.mimetype == PROBLEM_CONTENT_TYPE and not response.is_streamed:
        try:
            body = json.loads(response.get_data())
        except ValueError:  # not ours; left as it is
            return response
        if isinstance(body, dict):
            body["request_id"] = request_id
            response.set_data(json.dumps(body))
    return response


def problem_from_exception(exc: BaseException, logged: bool = False) -> Response:
    """Map any exception a handler raised to a problem response.

    A defect is logged with its traceback here unless the worker's container ``logged`` it.
    """
    if isinstance(exc, CrmError):
        for error_type, status, slug in STATUS_BY_ERROR:
            if isinstance(exc, error_type):
                headers = {}
                if isinstance(exc, RateLimited):
                    headers["Retry-After"] = str(exc.retry_after)
                    # IETF RateLimit fields: nothing left of the quota until the window resets,
                    # and the quota itself when the service said which it is.
                    name = exc.policy[0] if exc.policy else "default"
                    headers["RateLimit"] = f'"{name}";r=0;t={exc.retry_after}'
                    if exc.policy:
                        headers["RateLimit-Policy"] = f'"{name}";q={exc.policy[1]};w={exc.policy[2]}'
                if isinstance(exc, Unauthenticated):
                    headers["WWW-Authenticate"] = 'Bearer realm="crm"'
                return problem_response(status, exc.title, exc.detail, slug, exc.errors, headers)
    if isinstance(exc, HTTPException):
        slug = {404: "unknown-route", 405: "method-not-allowed", 413: "too-large"}.get(
            exc.code or 500, _slug(exc.name)
        )
        headers = {name: value for name, value in exc.get_headers() if name.lower() == "allow"}
        return problem_response(exc.code or 500, exc.name, exc.description or exc.name, slug, headers=headers)
    if isinstance(exc, (UnknownService, MethodNotFound, RpcTimeout)):
        if not logged:
            log.error("a service the gateway needs is missing: %s", exc)
        return problem_response(
            503,
            "Service unavailable",
            "a service needed for this request is not running",
            "service-unavailable",
        )
    if not logged and isinstance(exc, RemoteError):
        log.error("remote error: %s", exc)
    elif not logged:
        log.exception("unexpected error in the gateway", exc_info=exc)
    return problem_response(
        500, "Internal error", "something went wrong on our side; it has been logged", "internal"
    )


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")
