"""Contacts created or changed a batch at a time (``create_contacts``, ``update_contacts``): for
a caller that writes many, such as the Google sync, one RPC and one transaction per batch
instead of one per contact.

Each item goes through the same checks and the same write as ``create_contact``
(``contacts.create_with_employments``) or ``update_contact`` (``contacts.update``),
in a savepoint of the batch's transaction: an item refused (bad data, an e-mail
another contact holds, an id used for something else, a stale version, a contact
not found) is rolled back alone with its events, and answered with its error;
the others are written, their events going to the outbox with them. An id
created again with the same content is answered as a replay (``created`` false),
as ``create_contact`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.exceptions import serialize
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from crm.auth import Caller
from crm.database import DatabaseAccess, UnitOfWork
from crm.errors import CrmError, InvalidInput, field_error
from crm.validation import validate
from services.contacts import contacts
from services.contacts.schemas import ContactCreate, ContactUpdate

MAX_BATCH = 50

Write = Callable[[UnitOfWork], dict[str, Any]]


def checked_batch(items: Any) -> list[Any]:
    """The batch as a list of at most ``MAX_BATCH`` items; anything else refuses the whole call."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise InvalidInput(
            f"items: a list of 1 to {MAX_BATCH} contacts",
            [field_error("items", f"a list of 1 to {MAX_BATCH} contacts")],
        )
    return items


def create_contacts(
    db: DatabaseAccess, caller: Caller, items: list[Any], region: str
) -> list[dict[str, Any]]:
    """Each item's answer, in order: the contact with ``created``, or ``{"error": ...}`` (the
    error as an RPC answers it: ``nameko.exceptions.deserialize`` gives it back)."""

    def create(request: ContactCreate) -> Write:
        def write(uow: UnitOfWork) -> dict[str, Any]:
            record, created = contacts.create_with_employments(uow, caller, request, region)
            return {**record, "created": created}

        return write

    return _write_all(db, [_checked(ContactCreate, item, create) for item in items])


def update_contacts(
    db: DatabaseAccess, caller: Caller, items: list[Any], region: str
) -> list[dict[str, Any]]:
    """Items ``{"id", "changes"}``; each answer, in order: the contact as it is now, or
    ``{"error": ...}``."""

    def update(contact_id: str) -> Callable[[ContactUpdate], Write]:
        return lambda request: lambda uow: contacts.update(uow, caller, contact_id, request, region)

    writes: list[Write | CrmError] = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or set(item) != {"id", "changes"}
        ):
            writes.append(
                InvalidInput("an item is {id, changes}", [field_error("id", "an item is {id, changes}")])
            )
        else:
            writes.append(_checked(ContactUpdate, item["changes"], update(item["id"])))
    return _write_all(db, writes)


def _checked(schema: type[BaseModel], data: Any, write: Callable[[Any], Write]) -> Write | CrmError:
    try:
        return write(validate(schema, data))
    except CrmError as refused:
        return refused


def _write_all(db: DatabaseAccess, writes: list[Write | CrmError]) -> list[dict[str, Any]]:
    with db.transaction() as uow:
        return [
            {"error": serialize(write)} if isinstance(write, CrmError) else _write_one(uow, write)
            for write in writes
        ]


def _write_one(uow: UnitOfWork, write: Write) -> dict[str, Any]:
    try:
        try:
            return _in_savepoint(uow, write)
        except IntegrityError:
            # Another request wrote the same e-mail or id meanwhile: a replay or a conflict now.
            return _in_savepoint(uow, write)
    except CrmError as refused:
        return {"error": serialize(refused)}


def _in_savepoint(uow: UnitOfWork, write: Write) -> dict[str, Any]:
    mark = uow.events_mark()
    try:
        with uow.session.begin_nested():
            return write(uow)
    except BaseException:
        uow.drop_events_since(mark)  # their rows went with the savepoint
        raise
