"""From validated input to column values.

Address and social profiles arrive nested and are kept in flat columns (address)
or one JSON column (social); updates merge them key by key.
"""

from __future__ import annotations

from typing import Any

from services.contacts.schemas import Address, Position, Social
from services.contacts.shapes import ADDRESS_KEYS

_NO_POSITION = {"latitude": None, "longitude": None, "position_source": None}


def position_columns(position: Position | dict[str, Any] | None) -> dict[str, Any]:
    if position is None:
        return dict(_NO_POSITION)
    if isinstance(position, dict):
        position = Position.model_validate(position)
    return {
        "latitude": position.latitude,
        "longitude": position.longitude,
        "position_source": position.source,
    }


def address_columns(address: Address | None) -> dict[str, Any]:
    address = address or Address()
    return {
        **{f"address_{key}": getattr(address, key) for key in ADDRESS_KEYS},
        **position_columns(address.position),
    }


def social_value(social: Social | None) -> dict[str, str]:
    return {key: value for key, value in (social.model_dump() if social else {}).items() if value is not None}


def apply_address(record: Any, given: dict[str, Any] | None) -> None:
    """``given`` is the address part of an update: null clears it, keys given replace theirs
    (``position`` whole)."""
    if given is None:
        given = {**dict.fromkeys(ADDRESS_KEYS), "position": None}
    for key, value in given.items():
        if key == "position":
            for column, column_value in position_columns(value).items():
                setattr(record, column, column_value)
        else:
            setattr(record, f"address_{key}", value)


def merged_social(current: dict[str, str] | None, given: dict[str, Any] | None) -> dict[str, str]:
    if given is None:
        return {}
    merged = {**(current or {}), **given}
    return {key: value for key, value in merged.items() if value is not None}
