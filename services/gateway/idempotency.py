"""``Idempotency-Key`` on creates: the key becomes the new record's id.

A create whose body takes an ``id`` (the services already treat the same id with
the same content as a replay, and the same id with other content as a conflict)
gets the id derived from the key, the caller (organisation and user) and the
route. So the key is remembered by the owning service, in the record itself,
in the same transaction as the create: a retry answers the first record (200),
the same key with another body is 409 naming the header. A body that gives its
own ``id`` keeps it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import jwt
from pydantic import BaseModel

from crm.errors import Conflict, field_error, invalid

HEADER = "Idempotency-Key"
SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": "^[\\x21-\\x7e]+$",
    "description": "Any unique text (a UUID): a retry with the same key and body answers the first "
    "record (200) and creates nothing; the same key with another body is 409",
}
# Fixed forever: changing it would turn every retry in flight into a second create.
_NAMESPACE = uuid.UUID("6f1b5d2e-4c3a-5e8f-9a71-3d2c1b0a9e8d")


class IdempotencyKeyReused(Conflict):
    """The key was already used for a create with another body."""


def takes_id(schema: type[BaseModel] | None) -> bool:
    """A create body that may name the new record's id."""
    return schema is not None and "id" in schema.model_fields


def declare(spec: dict[str, Any]) -> None:
    """Give a create route that takes an id (and reads no key of its own) the header: the key
    names the record, a replay answers 200, the key with another body 409."""
    headers = spec.get("headers", {})
    if not takes_id(spec.get("body")) or HEADER in headers:
        return
    spec.update(idempotent_ids=True, headers={**headers, HEADER: SCHEMA})
    spec["errors"] = (*spec["errors"], 409)
    if spec.get("status") == 201:
        spec.setdefault("replay_status", 200)


def key_of(headers: Any) -> str | None:
    """The ``Idempotency-Key`` header, checked: 1 to 200 printable ASCII characters."""
    key = headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not all("\x21" <= char <= "\x7e" for char in key):
        raise invalid(HEADER, "must be 1 to 200 printable ASCII characters, without spaces")
    return key


def caller_scope(token: str | None) -> str:
    """Who the key belongs to: the organisation and user an access token names, else the
    token itself (an API token). Read unchecked: the token is verified before anything is
    created, and a record of another organisation is never a replay."""
    if token:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            return f"{claims['org']}/{claims['sub']}"
        except (jwt.PyJWTError, KeyError, TypeError):
            pass
    return hashlib.sha256((token or "").encode()).hexdigest()


def record_id(scope: str, path: str, key: str) -> str:
    """The id of the record a create with ``key`` makes (the same for every retry)."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope}\n{path}\n{key}"))


def with_record_id(data: Any, schema: type[BaseModel], derived_id: str | None) -> Any:
    """The body, naming ``derived_id`` as the new record's id unless it names its own."""
    if derived_id is not None and isinstance(data, dict) and takes_id(schema) and "id" not in data:
        return {**data, "id": derived_id}
    return data


def key_reused() -> IdempotencyKeyReused:
    message = "already used for a create with another body (or its record was deleted)"
    return IdempotencyKeyReused(f"{HEADER}: {message}", [field_error(HEADER, message)])
