"""Base error types shared by every service.

Each error crosses RPC intact: subclasses register themselves with nameko's
deserialisation registry, and carry ``detail`` and field ``errors`` as plain
arguments so that the caller rebuilds the same exception. The gateway maps
these base classes to HTTP status codes in one table
(``services/gateway/problems.py``).
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


class CrmError(Exception):
    """Base of every error a caller is meant to see."""

    title = "Request failed"
    # A caller's mistake (4xx): logged as one line, without a traceback. An outage is not.
    client_error = True

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail, list(errors or []))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        deserialize_to_instance(cls)

    @property
    def detail(self) -> str:
        return self.args[0]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.args[1]

    def __str__(self) -> str:
        return self.detail


deserialize_to_instance(CrmError)


class InvalidInput(CrmError, ValueError):
    """The request is well-formed but a field holds a value we cannot accept."""

    title = "Invalid input"


class MalformedRequest(CrmError, ValueError):
    """The request could not be read at all (bad JSON, wrong content type)."""

    title = "Malformed request"


class UnsupportedMediaType(MalformedRequest):
    title = "Unsupported media type"


class Unauthenticated(CrmError):
    """No credentials, or credentials we cannot trust."""

    title = "Authentication required"


class Forbidden(CrmError, PermissionError):
    """The caller is known but may not do this."""

    title = "Forbidden"


class ReadOnlyUser(Forbidden):
    title = "Read-only user"


class AdminOnly(Forbidden):
    title = "Admin only"


class NotFound(CrmError, LookupError):
    """No such record, or a record of another organisation."""

    title = "Not found"


class Conflict(CrmError):
    """The request clashes with the current state (duplicate, stale version)."""

    title = "Conflict"


class StaleVersion(Conflict):
    """The record changed since the caller read it (the ``version`` it gave is not the current one)."""

    title = "Stale version"


class IdAlreadyUsed(Conflict):
    """A create gave an id that exists with other content (or was deleted)."""

    title = "Id already used"


class RateLimited(CrmError):
    """A limit is reached; ``retry_after`` seconds until it resets.

    When the limit is a quota of ``quota`` units per ``window`` seconds, ``policy`` names it, so
    the gateway can describe it in the IETF ``RateLimit-Policy`` field (a limit on what runs at
    once has no window and no policy).
    """

    title = "Too many requests"

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        retry_after: int = 60,
        policy: str = "",
        quota: int = 0,
        window: int = 0,
    ):
        Exception.__init__(self, detail, list(errors or []), retry_after, policy, quota, window)

    @property
    def retry_after(self) -> int:
        return int(self.args[2])  # crossing RPC turns it into a string

    @property
    def policy(self) -> tuple[str, int, int] | None:
        """(name, quota, window in seconds) of the quota reached, if it is one."""
        if len(self.args) < 6 or not self.args[3]:
            return None
        return str(self.args[3]), int(self.args[4]), int(self.args[5])


class InsufficientCredits(CrmError):
    title = "Insufficient credits"


class ServiceUnavailable(CrmError):
    """A service we depend on did not answer in time."""

    title = "Service unavailable"
    client_error = False


def field_error(field: str, message: str) -> dict[str, str]:
    """One entry of a problem's ``errors`` list."""
    return {"field": field, "message": message}


def invalid(field: str, message: str) -> InvalidInput:
    """An ``InvalidInput`` about a single field."""
    return InvalidInput(f"{field}: {message}", [field_error(field, message)])
