"""Interaction types and their statuses: seeded per organisation, then the admins' to change.

A status is ``closed`` when nothing more is expected (a paid invoice, a won or
lost sale, a done task). Invoices carry ``invoice`` ("purchase" or "sales"):
the unclosed-invoices report lists them until they reach a closed status.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import insert_ignoring_duplicates
from crm.errors import invalid
from services.interactions.models import InteractionType


def _statuses(*pairs: tuple[str, str] | tuple[str, str, bool]) -> list[dict[str, Any]]:
    return [
        {"key": pair[0], "name": pair[1], "closed": pair[2] if len(pair) > 2 else False} for pair in pairs
    ]


_INVOICE_PURCHASE = _statuses(
    ("to_receive", "To receive"),
    ("received", "Received"),
    ("to_pay", "To pay"),
    ("paid", "Paid", True),
    ("cancelled", "Cancelled", True),
)
_INVOICE_SALES = _statuses(
    ("to_issue", "To issue"),
    ("issued", "Issued"),
    ("to_collect", "Awaiting payment"),
    ("paid", "Paid", True),
    ("cancelled", "Cancelled", True),
)

# (key, name, statuses, invoice kind)
DEFAULT_TYPES: list[tuple[str, str, list[dict[str, Any]], str | None]] = [
    (
        "call",
        "Call",
        _statuses(("planned", "Planned"), ("done", "Done", True), ("cancelled", "Cancelled", True)),
        None,
    ),
    (
        "meeting",
        "Meeting",
        _statuses(
            ("planned", "Planned"),
            ("confirmed", "Confirmed"),
            ("done", "Done", True),
            ("cancelled", "Cancelled", True),
        ),
        None,
    ),
    (
        "sales_opportunity",
        "Sales opportunity",
        _statuses(
            ("contact", "Vente – 1 – Prise de contact"),
            ("needs", "Vente – 2 – Analyse du besoin"),
            ("proposal", "Vente – 3 – Proposition"),
            ("negotiation", "Vente – 4 – Négociation"),
            ("won", "Vente – 5 – Gagnée", True),
            ("lost", "Vente – 6 – Perdue", True),
        ),
        None,
    ),
    (
        "support_ticket",
        "Support ticket",
        _statuses(
            ("open", "Open"),
            ("in_progress", "In progress"),
            ("waiting", "Waiting for customer"),
            ("solved", "Solved", True),
        ),
        None,
    ),
    ("purchase_invoice", "Purchase invoice", _INVOICE_PURCHASE, "purchase"),
    ("sales_invoice", "Sales invoice", _INVOICE_SALES, "sales"),
    (
        "purchase",
        "Purchase",
        _statuses(
            ("to_order", "To order"),
            ("ordered", "Ordered"),
            ("received", "Received", True),
            ("cancelled", "Cancelled", True),
        ),
        None,
    ),
    (
        "delivery",
        "Delivery",
        _statuses(
            ("planned", "Planned"),
            ("shipped", "Shipped"),
            ("delivered", "Delivered", True),
            ("cancelled", "Cancelled", True),
        ),
        None,
    ),
    (
        "task",
        "Task",
        _statuses(("todo", "To do"), ("in_progress", "In progress"), ("done", "Done", True)),
        None,
    ),
    (
        "pending_email",
        "Pending e-mail",
        _statuses(
            ("to_process", "To process"), ("processed", "Processed", True), ("ignored", "Ignored", True)
        ),
        None,
    ),
]


def seed(session: Session, org_id: str) -> None:
    """Give the organisation the default types, once (concurrent first calls are harmless)."""
    rows = [
        {
            "org_id": org_id,
            "key": key,
            "name": name,
            "statuses": statuses,
            "invoice": invoice,
            "position": position,
        }
        for position, (key, name, statuses, invoice) in enumerate(DEFAULT_TYPES)
    ]
    session.execute(insert_ignoring_duplicates(session, InteractionType), rows)


def types_of(session: Session, org_id: str) -> list[InteractionType]:
    rows = session.scalars(
        select(InteractionType).where(InteractionType.org_id == org_id).order_by(InteractionType.position)
    ).all()
    if not rows:
        seed(session, org_id)
        session.flush()
        rows = session.scalars(
            select(InteractionType).where(InteractionType.org_id == org_id).order_by(InteractionType.position)
        ).all()
    return list(rows)


def type_of(session: Session, org_id: str, type_key: str, field: str = "type") -> InteractionType:
    row = session.scalars(
        select(InteractionType).where(InteractionType.org_id == org_id, InteractionType.key == type_key)
    ).first()
    if row is not None:  # the usual case: one row by its key, not the organisation's every type
        return row
    found = {row.key: row for row in types_of(session, org_id)}
    if type_key not in found:
        raise invalid(field, f"unknown type {type_key!r}; the organisation's types are {', '.join(found)}")
    return found[type_key]


def check_status(kind: InteractionType, status_key: str | None, field: str = "status") -> str:
    """The status to use: the one given if the type has it, else the type's first."""
    keys = [status["key"] for status in kind.statuses]
    if status_key is None:
        return keys[0]
    if status_key not in keys:
        raise invalid(
            field, f"unknown status {status_key!r} for {kind.key}; its statuses are {', '.join(keys)}"
        )
    return status_key


def closed_statuses(kind: InteractionType) -> set[str]:
    return {status["key"] for status in kind.statuses if status["closed"]}


def type_out(row: InteractionType) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "statuses": row.statuses,
        "invoice": row.invoice,
        "checkin_radius_m": row.checkin_radius_m,
    }


def put_type(session: Session, org_id: str, type_key: str, request: Any) -> dict[str, Any]:
    """Create or replace a type (admin); status keys must be unique."""
    if (
        not type_key
        or len(type_key) > 50
        or not type_key.replace("_", "").isalnum()
        or not type_key.islower()
    ):
        raise invalid("type", "a type key is lower-case letters, digits and underscores")
    keys = [status.key for status in request.statuses]
    if len(set(keys)) != len(keys):
        raise invalid("statuses", "status keys must be unique")
    types_of(session, org_id)  # seed first, so a new type joins the defaults
    row = session.get(InteractionType, (org_id, type_key))
    if row is None:
        count = len(types_of(session, org_id))
        row = InteractionType(org_id=org_id, key=type_key, position=count)
        session.add(row)
    row.name = request.name
    row.statuses = [status.model_dump() for status in request.statuses]
    row.invoice = request.invoice
    row.checkin_radius_m = request.checkin_radius_m
    session.flush()
    return type_out(row)
