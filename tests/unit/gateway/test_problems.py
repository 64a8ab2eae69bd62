"""Errors to HTTP: one status per error family, as RFC 9457 problem JSON."""

from __future__ import annotations

import json

import pytest
from nameko.exceptions import RemoteError, UnknownService, deserialize, serialize
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as UnknownRoute

from crm.errors import (
    AdminOnly,
    Conflict,
    InsufficientCredits,
    InvalidInput,
    MalformedRequest,
    NotFound,
    RateLimited,
    ReadOnlyUser,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
    field_error,
)
from services.accounts.exceptions import (
    DuplicateEmail,
    InvalidCredentials,
    LastAdmin,
    SessionRevoked,
    StaleVersion,
    UserNotFound,
    WrongPassword,
)
from services.gateway.problems import PROBLEM_CONTENT_TYPE, problem_from_exception


def _problem(exc: BaseException) -> tuple[int, dict, dict]:
    response = problem_from_exception(exc)
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    return response.status_code, json.loads(response.get_data()), dict(response.headers)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (MalformedRequest("request body is not valid JSON"), 400),
        (UnsupportedMediaType("Content-Type must be application/json, not text/csv"), 415),
        (InvalidInput("email: not an address", [field_error("email", "not an address")]), 422),
        (WrongPassword("current_password: does not match"), 422),
        (Unauthenticated("access token has expired"), 401),
        (InvalidCredentials("e-mail or password is wrong"), 401),
        (SessionRevoked("this session has been signed out"), 401),
        (InsufficientCredits("12 SMS credits left, 40 needed"), 402),
        (ReadOnlyUser("read-only users can read but not change anything"), 403),
        (AdminOnly("only an admin of the organisation may do this"), 403),
        (NotFound("no contact 42"), 404),
        (UserNotFound("no user 42"), 404),
        (Conflict("Chambre 404 is already booked"), 409),
        (DuplicateEmail("email: bob@pomme.fr is already used"), 409),
        (StaleVersion("version: stale"), 409),
        (LastAdmin("the organisation must keep at least one active admin"), 409),
        (RateLimited("too many failed logins", retry_after=900), 429),
        (ServiceUnavailable("the contacts service did not answer within 10 s"), 503),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_error_answers_with_its_status_and_a_problem_document(error, status):
    code, body, _ = _problem(error)

    assert code == status
    assert body["status"] == status
    assert body["title"] == error.title
    assert body["detail"] == error.detail
    assert body["errors"] == error.errors
    assert body["type"].startswith("/docs/problems#")


def test_field_errors_are_listed_in_the_problem():
    _, body, _ = _problem(
        InvalidInput(
            "email: not an address; time_zone: unknown",
            [field_error("email", "not an address"), field_error("time_zone", "unknown")],
        )
    )

    assert [error["field"] for error in body["errors"]] == ["email", "time_zone"]


def test_unauthenticated_answer_says_how_to_authenticate():
    _, _, headers = _problem(SessionRevoked("this session has been signed out"))

    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_rate_limited_answer_says_when_to_retry():
    _, _, headers = _problem(RateLimited("too many failed logins", retry_after=900))

    assert headers["Retry-After"] == "900"
    assert headers["RateLimit"] == '"default";r=0;t=900'
    assert "RateLimit-Policy" not in headers  # no quota named: a limit on what runs at once


def test_rate_limited_answer_describes_the_quota_it_reached():
    limited = RateLimited(
        "too many failed logins", retry_after=900, policy="login-address", quota=30, window=900
    )

    _, _, headers = _problem(deserialize(serialize(limited)))

    assert headers["RateLimit"] == '"login-address";r=0;t=900'
    assert headers["RateLimit-Policy"] == '"login-address";q=30;w=900'


def test_errors_from_a_service_keep_their_status_after_crossing_rpc():
    duplicate = deserialize(serialize(DuplicateEmail("email: already used", [field_error("email", "x")])))
    limited = deserialize(serialize(RateLimited("too many failed logins", retry_after=900)))

    assert _problem(duplicate)[0] == 409
    assert _problem(limited)[0] == 429
    assert _problem(limited)[2]["Retry-After"] == "900"


def test_unknown_exception_is_a_500_that_does_not_leak_its_message():
    code, body, _ = _problem(RuntimeError("password=Pomme-Alice-2024! at db.pomme.fr"))

    assert code == 500
    assert "Pomme-Alice" not in json.dumps(body)
    assert "db.pomme.fr" not in json.dumps(body)


def test_unregistered_remote_error_is_a_500_that_does_not_leak_its_message():
    code, body, _ = _problem(RemoteError("OperationalError", "could not connect to db.pomme.fr"))

    assert code == 500
    assert "db.pomme.fr" not in json.dumps(body)


def test_missing_service_is_a_503():
    code, body, _ = _problem(UnknownService("contacts"))

    assert code == 503
    assert body["status"] == 503


def test_unknown_route_is_a_404_problem():
    code, body, _ = _problem(UnknownRoute())

    assert (code, body["status"]) == (404, 404)


def test_wrong_method_is_a_405_that_lists_the_allowed_methods():
    code, _, headers = _problem(MethodNotAllowed(valid_methods=["GET", "PATCH"]))

    assert code == 405
    assert headers["Allow"] == "GET, PATCH"


def test_every_problem_type_answered_is_explained_on_the_docs_page():
    from services.gateway.problems import PROBLEM_KINDS, STATUS_BY_ERROR

    explained = {slug for _, slug, _ in PROBLEM_KINDS}
    assert {slug for _, _, slug in STATUS_BY_ERROR} <= explained
    assert {"unknown-route", "method-not-allowed", "too-large", "internal"} <= explained


def test_the_errors_logged_as_one_line_are_exactly_those_answered_with_a_4xx():
    from crm.logs import is_client_error
    from services.gateway.problems import STATUS_BY_ERROR

    for error_type, status, _ in STATUS_BY_ERROR:
        assert is_client_error(error_type("Chambre 404")) == (status < 500), error_type


def test_a_problem_names_its_request_in_the_body_and_the_header():
    from services.gateway.problems import with_request_id

    response = with_request_id(problem_from_exception(NotFound("no contact 42")), "req-42")

    assert json.loads(response.get_data())["request_id"] == "req-42"
    assert response.headers["X-Request-ID"] == "req-42"
