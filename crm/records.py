"""The rules every service's records share: found within one organisation, created once
with a caller's id, changed at the version the caller read.

- ``record_of``: one record of the caller's organisation, or ``NotFound``. A record
  of another organisation, a soft-deleted one or an id that is not a string is
  not found, never forbidden.
- ``replayed``: a create that gives its own id (phones create offline) may be
  sent twice. The same id with the same content is a replay (answer the record,
  write nothing); the same id with other content, in another organisation or on
  a deleted record is ``IdAlreadyUsed``.
- ``check_version``: an update that names the version it read is refused with
  ``StaleVersion`` when the record has moved on since.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from crm.errors import IdAlreadyUsed, InvalidInput, NotFound, StaleVersion, field_error

Record = TypeVar("Record")

ID_IN_USE = "already used by a record with other content, or a deleted one"


def is_deleted(record: Any) -> bool:
    """Soft-deleted (records without ``deleted_at`` never are)."""
    return getattr(record, "deleted_at", None) is not None


def record_of(
    session: Session,
    model: type[Record],
    org_id: str,
    record_id: Any,
    missing: type[NotFound],
    noun: str,
    *,
    lock: bool = False,
    with_deleted: bool = False,
) -> Record:
    """The ``model`` row ``record_id`` of ``org_id``, else ``missing("no <noun> <id>")``.

    ``lock`` holds the row until the transaction ends (``SELECT ... FOR UPDATE``);
    ``with_deleted`` also finds soft-deleted rows (a replayed delete).
    """
    row = session.get(model, record_id, with_for_update=lock or None) if isinstance(record_id, str) else None
    if row is None or row.org_id != org_id or (is_deleted(row) and not with_deleted):
        raise missing(f"no {noun} {record_id}")
    return row


def id_already_used(
    record_id: str, *, field: str = "id", message: str = ID_IN_USE, what: str = "record"
) -> IdAlreadyUsed:
    """The conflict for a create whose id is taken; ``message`` says why, for ``errors``."""
    return IdAlreadyUsed(
        f"{field}: {record_id} is already used by another {what}", [field_error(field, message)]
    )


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
    record is ``IdAlreadyUsed`` naming ``field``; no id, or a new one, is None.
    """
    if record_id is None:
        return None
    existing = session.get(model, record_id)
    if existing is None:
        return None
    if existing.org_id == org_id and not is_deleted(existing) and same_content(existing):
        return existing
    raise id_already_used(record_id, field=field)


def has_values(record: Any, values: dict[str, Any]) -> bool:
    """Every named attribute of ``record`` holds the given value (a replay's ``same_content``)."""
    return all(getattr(record, name) == value for name, value in values.items())


def check_version(record: Any, expected: int | None, kind: str) -> None:
    """A stale ``expected`` version (the record changed since it was read) is ``StaleVersion``."""
    if expected is not None and expected != record.version:
        raise StaleVersion(
            f"version: {kind} {record.id} is at version {record.version}, not {expected}",
            [field_error("version", f"stale; current version is {record.version}")],
        )


def cursor_row(session: Session, model: type[Record], org_id: str, cursor: str) -> Record:
    """The row a keyset cursor names (the last row of the previous page), else ``InvalidInput``.

    A list must not answer its first page to a cursor it cannot read: the caller would
    page through the same rows forever.
    """
    row = session.get(model, cursor)
    if row is None or row.org_id != org_id:
        raise InvalidInput(
            "cursor: not a cursor of this list", [field_error("cursor", "not a cursor of this list")]
        )
    return row
