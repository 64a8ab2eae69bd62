"""From validated input to column values, and the rules every record shares on create.

Address and social profiles arrive nested and are kept in flat columns (address)
or one JSON column (social); updates merge them key by key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from crm.errors import field_error
from services.contacts.exceptions import IdAlreadyUsed
from services.contacts.schemas import Address, Social
from services.contacts.shapes import ADDRESS_KEYS

Record = TypeVar("Record")


def address_columns(address: Address | None) -> dict[str, str | None]:
    address = address or Address()
    return {f"address_{key}": getattr(address, key) for key in ADDRESS_KEYS}


def social_value(social: Social | None) -> dict[str, str]:
    return {key: value for key, value in (social.model_dump() if social else {}).items() if value is not None}


def apply_address(record: Any, given: dict[str, Any] | None) -> None:
    """``given`` is the address part of an update: null clears it, keys given replace theirs."""
    if given is None:
        given = dict.fromkeys(ADDRESS_KEYS)
    for key, value in given.items():
        setattr(record, f"address_{key}", value)


def merged_social(current: dict[str, str] | None, given: dict[str, Any] | None) -> dict[str, str]:
    if given is None:
        return {}
    merged = {**(current or {}), **given}
    return {key: value for key, value in merged.items() if value is not None}


def has_values(record: Any, values: dict[str, Any]) -> bool:
    return all(getattr(record, name) == value for name, value in values.items())


def replayed(
    session: Session,
    model: type[Record],
    record_id: str | None,
    org_id: str,
    same_content: Callable[[Record], bool],
    field: str = "id",
) -> Record | None:
    """The record a create is replaying, if it gave an existing id with the same content.

    The same id with other content, in another organisation, or on a deleted
    record is a conflict naming ``field``; a new id is None.
    """
    if record_id is None:
        return None
    existing = session.get(model, record_id)
    if existing is None:
        return None
    if existing.org_id == org_id and existing.deleted_at is None and same_content(existing):
        return existing
    raise IdAlreadyUsed(
        f"{field}: {record_id} is already used by another record",
        [field_error(field, "already used by a record with other content, or a deleted one")],
    )
