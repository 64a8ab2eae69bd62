"""A push: a phone's changes, applied by the services that own the records.

Each change becomes the RPC the web would make, with the caller's token, so the
same validation and permissions hold. Creates go parents first (a company before
the contact that works there, a contact before the interaction that links it);
deletions go children first. A change the server refuses (read-only user,
another organisation's record, a bad value, a deleted parent) is refused on its
own; the rest applies. Deleting on the phone archives on the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm.errors import Conflict, Forbidden, InvalidInput, NotFound, ReadOnlyUser
from services.sync import records as r

Call = Callable[..., Any]  # call(service, method, *args)

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
# Parents first; deletions walk it backwards.
ORDER = (r.COMPANIES, r.CONTACTS, r.EMPLOYMENTS, r.INTERACTIONS, r.NOTES, r.CHECK_INS)
READ_ONLY_TABLES = frozenset(r.TABLES) - frozenset(ORDER)
GPS = "phone_gps"


@dataclass(frozen=True)
class Change:
    table: str
    operation: str
    record_id: str
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return json.dumps([self.table, self.operation, self.record_id, _columns(self.raw)], sort_keys=True)


@dataclass(frozen=True)
class Refusal:
    change: Change
    reason: str  # read_only, forbidden, not_found, invalid, conflict, unsupported
    message: str


def _columns(raw: dict[str, Any]) -> dict[str, Any]:
    """The record's own columns, without WatermelonDB's bookkeeping (``_status``, ``_changed``)."""
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def ordered(changes: dict[str, dict[str, list[Any]]]) -> list[Change]:
    """Every change of a push in the order it is applied."""
    plan: list[Change] = []
    for operation in (CREATED, UPDATED):
        for table in ORDER:
            for raw in (changes.get(table) or {}).get(operation) or []:
                plan.append(Change(table, operation, str(raw["id"]), raw))
    for table in reversed(ORDER):
        for record_id in (changes.get(table) or {}).get(DELETED) or []:
            plan.append(Change(table, DELETED, str(record_id)))
    for table in sorted(READ_ONLY_TABLES & changes.keys()):
        for operation in (CREATED, UPDATED):
            for raw in changes[table].get(operation) or []:
                plan.append(Change(table, operation, str(raw["id"]), raw))
        for record_id in changes[table].get(DELETED) or []:
            plan.append(Change(table, DELETED, str(record_id)))
    return plan


@dataclass(frozen=True)
class Applied:
    """The owner made the change; ``version``: the record's version it answered, if any."""

    version: int | None = None


def apply(call: Call, change: Change) -> Refusal | Applied:
    """Apply one change through its owner; a refusal says why, in the user's words."""
    try:
        answer = _APPLY[(change.table, change.operation)](call, change)
    except KeyError:
        return Refusal(change, "unsupported", _unsupported(change))
    except ReadOnlyUser:
        return Refusal(change, "read_only", "read-only users cannot change anything: ask your admin")
    except Forbidden as exc:
        return Refusal(change, "forbidden", exc.detail)
    except NotFound as exc:
        if change.operation == DELETED:
            return Applied()  # already gone (or never reached the server: made and deleted offline)
        return Refusal(change, "not_found", exc.detail)
    except InvalidInput as exc:
        return Refusal(change, "invalid", exc.detail)
    except Conflict as exc:
        return Refusal(change, "conflict", exc.detail)
    return Applied(r.replica_version(change.table, answer) if isinstance(answer, dict) else None)


def _unsupported(change: Change) -> str:
    if change.table in READ_ONLY_TABLES:
        return f"{change.table} are read-only on the phone"
    return f"{change.table} cannot be {change.operation} on the phone (notes are never changed nor deleted)"


# -- WatermelonDB columns to the owners' requests ----------------------------------------------------


def _text(value: Any) -> Any:
    """WatermelonDB keeps an empty string for an optional text column: that is no value."""
    return None if value == "" else value


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(float(value) / 1000, UTC).isoformat()


def _list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def _changed(change: Change) -> set[str] | None:
    """Columns the phone changed (``_changed``), None when it does not say (then all)."""
    if change.operation != UPDATED or not change.raw.get("_changed"):
        return None
    return {c for c in str(change.raw["_changed"]).split(",") if c}


def _pick(change: Change, columns: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    changed = _changed(change)
    return {
        name: convert(change.raw.get(name))
        for name, convert in columns.items()
        if name in change.raw and (changed is None or name in changed)
    }


ADDRESS = ("street", "postal_code", "city", "country")
PERSON = {name: _text for name in ("phone", "email", "website")}


def _address(change: Change) -> dict[str, Any] | None:
    picked = _pick(change, {name: _text for name in (*ADDRESS, "latitude", "longitude")})
    if not picked:
        return None
    address = {name: picked[name] for name in ADDRESS if name in picked}
    if "latitude" in picked or "longitude" in picked:
        latitude, longitude = change.raw.get("latitude"), change.raw.get("longitude")
        has_position = latitude not in (None, "") and longitude not in (None, "")
        address["position"] = (
            {"latitude": latitude, "longitude": longitude, "source": GPS} if has_position else None
        )
    return address


def _with_address(change: Change, fields: dict[str, Any]) -> dict[str, Any]:
    address = _address(change)
    if address is not None:
        fields["address"] = address
    if change.operation == CREATED:
        fields["id"] = change.record_id
    elif "version" in change.raw and change.raw["version"] not in (None, ""):
        fields["version"] = int(change.raw["version"])
    return fields


def company_fields(change: Change) -> dict[str, Any]:
    fields = _pick(change, {"name": _text, "group_name": _text, "notes": _text, "tags": _list, **PERSON})
    if "group_name" in fields:
        fields["group"] = fields.pop("group_name")
    return _with_address(change, fields)


def contact_fields(change: Change) -> dict[str, Any]:
    columns = {name: _text for name in ("first_name", "last_name", "mobile", "note", "birthday")}
    return _with_address(change, _pick(change, {**columns, **PERSON}))


def employment_fields(change: Change) -> dict[str, Any]:
    columns = {name: _text for name in ("function", "phone", "mobile", "email", "start_date", "end_date")}
    fields = _pick(change, columns)
    if change.operation == CREATED:
        return {**fields, "id": change.record_id, "company_id": change.raw.get("company_id")}
    if change.raw.get("version") not in (None, ""):
        fields["version"] = int(change.raw["version"])
    return fields


def interaction_fields(change: Change) -> dict[str, Any]:
    columns = {
        "subject": _text,
        "type": _text,
        "status": _text,
        "start_at": _iso,
        "end_at": _iso,
        "all_day": bool,
        "owner_id": _text,
        "project_id": _text,
        "description": _text,
        "contact_ids": _list,
        "company_ids": _list,
    }
    fields = _pick(change, columns)
    changed = _changed(change)
    if "budget_amount" in change.raw and (changed is None or "budget_amount" in changed):
        amount, currency = _text(change.raw.get("budget_amount")), _text(change.raw.get("budget_currency"))
        fields["budget"] = {"amount": str(amount), "currency": currency} if amount is not None else None
    if change.operation == CREATED:
        fields = {k: v for k, v in fields.items() if v is not None}
        fields["id"] = change.record_id
    elif change.raw.get("version") not in (None, ""):
        fields["version"] = int(change.raw["version"])
    return fields


_APPLY: dict[tuple[str, str], Callable[[Call, Change], Any]] = {
    (r.COMPANIES, CREATED): lambda call, c: call("contacts", "create_company", company_fields(c)),
    (r.COMPANIES, UPDATED): lambda call, c: call(
        "contacts", "update_company", c.record_id, company_fields(c)
    ),
    (r.COMPANIES, DELETED): lambda call, c: call("contacts", "delete_company", c.record_id),
    (r.CONTACTS, CREATED): lambda call, c: call("contacts", "create_contact", contact_fields(c)),
    (r.CONTACTS, UPDATED): lambda call, c: call("contacts", "update_contact", c.record_id, contact_fields(c)),
    (r.CONTACTS, DELETED): lambda call, c: call("contacts", "delete_contact", c.record_id),
    (r.EMPLOYMENTS, CREATED): lambda call, c: call(
        "contacts", "add_employment", c.raw.get("contact_id"), employment_fields(c)
    ),
    (r.EMPLOYMENTS, UPDATED): lambda call, c: call(
        "contacts", "update_employment", c.record_id, employment_fields(c)
    ),
    (r.EMPLOYMENTS, DELETED): lambda call, c: call("contacts", "delete_employment", c.record_id),
    (r.INTERACTIONS, CREATED): lambda call, c: call(
        "interactions", "create_interaction", interaction_fields(c)
    ),
    (r.INTERACTIONS, UPDATED): lambda call, c: call(
        "interactions", "update_interaction", c.record_id, interaction_fields(c)
    ),
    (r.INTERACTIONS, DELETED): lambda call, c: call("interactions", "delete_interaction", c.record_id),
    (r.CHECK_INS, CREATED): lambda call, c: call(
        "interactions",
        "check_in",
        c.raw.get("interaction_id"),
        {
            "id": c.record_id,
            "latitude": c.raw.get("latitude"),
            "longitude": c.raw.get("longitude"),
            "accuracy_m": c.raw.get("accuracy_m"),
        },
    ),
    # Checking out is the one change a phone makes to a visit.
    (r.CHECK_INS, UPDATED): lambda call, c: (
        call("interactions", "check_out", c.raw.get("interaction_id"))
        if c.raw.get("checked_out_at")
        else None
    ),
    (r.NOTES, CREATED): lambda call, c: call(
        "interactions",
        "append_note",
        c.raw.get("interaction_id"),
        {"id": c.record_id, "text": c.raw.get("text")},
    ),
}
