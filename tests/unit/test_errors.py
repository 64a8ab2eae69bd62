"""Errors keep their class, detail and field errors across nameko RPC."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError, deserialize, serialize

from crm.errors import (
    AdminOnly,
    Conflict,
    CrmError,
    Forbidden,
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
    invalid,
)
from services.accounts.exceptions import DuplicateEmail, SessionRevoked, StaleVersion


class ChambreDejaReservee(Conflict):
    """A service's own error, declared the way each exceptions module does."""

    title = "Room already booked"


def _across_rpc(exc: BaseException) -> BaseException:
    return deserialize(serialize(exc))


@pytest.mark.parametrize(
    "error",
    [
        InvalidInput("email: not an address", [field_error("email", "not an address")]),
        MalformedRequest("request body is not valid JSON"),
        UnsupportedMediaType("Content-Type must be application/json, not text/plain"),
        Unauthenticated("access token has expired"),
        ReadOnlyUser("read-only users can read but not change anything"),
        AdminOnly("only an admin of the organisation may do this"),
        NotFound("no contact 42"),
        Conflict("Chambre 404 is already booked", [field_error("resource_id", "double booking")]),
        InsufficientCredits("12 SMS credits left, 40 needed"),
        ServiceUnavailable("the contacts service did not answer within 10 s"),
        DuplicateEmail("email: bob@pomme.fr is already used", [field_error("email", "taken")]),
        StaleVersion("version: stale", [field_error("version", "stale; current version is 3")]),
        SessionRevoked("this session has been signed out; log in again"),
        ChambreDejaReservee("Chambre 404 is taken on 3 March", [field_error("starts_at", "taken")]),
    ],
    ids=lambda error: type(error).__name__,
)
def test_error_survives_the_rpc_round_trip_with_its_class_detail_and_field_errors(error):
    back = _across_rpc(error)

    assert type(back) is type(error)
    assert back.detail == error.detail
    assert back.errors == error.errors


def test_rate_limited_still_reports_its_retry_delay_after_crossing_rpc():
    back = _across_rpc(RateLimited("too many failed logins", retry_after=900))

    assert isinstance(back, RateLimited)
    assert str(back.retry_after) == "900"


def test_rate_limited_retry_after_stays_a_number_after_crossing_rpc():
    back = _across_rpc(RateLimited("too many failed logins", retry_after=900))

    assert back.retry_after == 900


def test_rate_limited_keeps_its_quota_after_crossing_rpc():
    back = _across_rpc(
        RateLimited("too many failed logins", retry_after=900, policy="login-account", quota=5, window=900)
    )

    assert back.policy == ("login-account", 5, 900)
    assert _across_rpc(RateLimited("one import at a time", retry_after=5)).policy is None


def test_rate_limited_defaults_to_a_one_minute_wait():
    assert RateLimited("slow down").retry_after == 60


def test_an_exception_that_is_not_ours_arrives_as_a_remote_error():
    back = _across_rpc(KeyError("contact_id"))

    assert isinstance(back, RemoteError)
    assert not isinstance(back, CrmError)


def test_message_of_an_error_is_its_detail():
    error = NotFound("no company Pomme Siège Central")

    assert str(error) == "no company Pomme Siège Central"
    assert error.errors == []


def test_invalid_names_the_field_in_detail_and_errors():
    error = invalid("time_zone", "not an IANA time zone such as Europe/Paris")

    assert isinstance(error, InvalidInput)
    assert error.detail == "time_zone: not an IANA time zone such as Europe/Paris"
    assert error.errors == [{"field": "time_zone", "message": "not an IANA time zone such as Europe/Paris"}]


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (InvalidInput("bad"), ValueError),
        (MalformedRequest("bad"), ValueError),
        (NotFound("gone"), LookupError),
        (Forbidden("no"), PermissionError),
        (ReadOnlyUser("no"), PermissionError),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else type(value).__name__,
)
def test_errors_can_also_be_caught_as_the_matching_builtin(error, builtin):
    assert isinstance(error, builtin)
    assert isinstance(error, CrmError)
