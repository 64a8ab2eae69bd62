"""Conditional requests on versioned records (RFC 9110): ``ETag`` from the record's
``version``, ``If-Match`` on updates and deletes, 412 when the record has moved on.

The body's ``version`` says the same thing; the headers are what HTTP clients and
integration tools already send.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from crm.errors import CrmError, InvalidInput, field_error

IF_MATCH = "If-Match"
CONDITIONAL_METHODS = frozenset({"PATCH", "PUT", "DELETE"})
IF_MATCH_SCHEMA = {
    "type": "string",
    "pattern": r'^(\*|(W/)?"[0-9]{1,18}"(\s*,\s*(W/)?"[0-9]{1,18}")*)$',
    "description": 'The ETag of the version read, such as "3"; the change is refused with 412 '
    "if the record is at another version",
}
ETAG_HEADER = {"ETag": {"description": 'The record\'s version, such as "3"', "schema": {"type": "string"}}}
# A bare version (3) is read as "3": some clients and generators drop the quotes.
_TAG = re.compile(r'^(?:W/)?(?:"([0-9]{1,18})"|([0-9]{1,18}))$')
ANY = "*"


class PreconditionFailed(CrmError):
    """The record is not at the version ``If-Match`` names."""

    title = "Precondition failed"


def etag(version: int) -> str:
    """The strong entity tag of a record at ``version``."""
    return f'"{version}"'


def etag_of(payload: Any) -> str | None:
    """The ETag of a record answered as ``payload`` (None for anything without a version)."""
    if isinstance(payload, dict):
        version = payload.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            return etag(version)
    return None


def if_match(header: str | None) -> frozenset[int] | str | None:
    """The versions an ``If-Match`` header accepts, ``ANY`` for ``*``, None when absent.

    A value that is not a list of our entity tags is refused naming the header.
    """
    if header is None:
        return None
    if header.strip() == ANY:
        return ANY
    versions = set()
    for tag in header.split(","):
        match = _TAG.match(tag.strip())
        if match is None:
            message = 'expected an ETag of this API, such as "3", or *'
            raise InvalidInput(f"{IF_MATCH}: {message}", [field_error(IF_MATCH, message)])
        versions.add(int(match.group(1) or match.group(2)))
    return frozenset(versions)


def check_if_match(accepted: frozenset[int] | str, current: Any) -> None:
    """Refuse with 412 unless the record answered as ``current`` is at an accepted version."""
    version = current.get("version") if isinstance(current, dict) else None
    if accepted == ANY:
        return
    if not isinstance(version, int):
        message = "this record has no version to match"
        raise PreconditionFailed(f"{IF_MATCH}: {message}", [field_error(IF_MATCH, message)])
    if version not in accepted:
        raise stale(version)


def stale_from(message: str) -> PreconditionFailed:
    """The 412 for a ``StaleVersion`` the service raised on a version ``If-Match`` named."""
    found = re.search(r"current version is ([0-9]+)", message)
    return stale(int(found.group(1)) if found else None)


def stale(version: int | None) -> PreconditionFailed:
    message = f"stale; current version is {version}" if version is not None else "stale"
    detail = f"{IF_MATCH}: the record has changed; {message}"
    return PreconditionFailed(detail, [field_error(IF_MATCH, message)])


def with_expected_version(data: Any, schema: type[BaseModel], accepted: frozenset[int] | str | None) -> Any:
    """The body, carrying the one version ``If-Match`` names when the update takes a version and
    names none, so that the service checks it in the same transaction as the change."""
    if (
        isinstance(data, dict)
        and isinstance(accepted, frozenset)
        and len(accepted) == 1
        and "version" in schema.model_fields
        and "version" not in data
    ):
        return {**data, "version": next(iter(accepted))}
    return data


def is_versioned(model: type[BaseModel] | None) -> bool:
    """A response model for records that carry a version (and so an ETag)."""
    return model is not None and "version" in model.model_fields
