"""The SMS credit ledger of an organisation: purchases, debits, refunds.

The balance is the sum of the ledger. Each organisation also has a
``credit_accounts`` row holding that sum; a debit is one conditional UPDATE of
that row (``balance >= n``), so two concurrent sends are serialised by the
database and can never take the balance below zero. The row and the ledger
change in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.database import insert_ignoring_duplicates
from crm.ids import new_id
from crm.records import cursor_row
from crm.times import aware, utcnow
from services.messaging.exceptions import InsufficientCredits, PurchaseReferenceUsed
from services.messaging.models import CreditAccount, CreditEntry
from services.messaging.schemas import CreditPurchase

PURCHASE, DEBIT, REFUND = "purchase", "debit", "refund"


def balance(session: Session, org_id: str) -> int:
    """The sum of the organisation's ledger."""
    total = session.scalar(
        select(func.coalesce(func.sum(CreditEntry.credits), 0)).where(CreditEntry.org_id == org_id)
    )
    return int(total)


def _ensure_account(session: Session, org_id: str) -> None:
    session.execute(
        insert_ignoring_duplicates(session, CreditAccount).values(
            org_id=org_id, balance=0, updated_at=utcnow()
        )
    )


def _move(session: Session, org_id: str, credits: int) -> None:
    session.execute(
        update(CreditAccount)
        .where(CreditAccount.org_id == org_id)
        .values(balance=CreditAccount.balance + credits, updated_at=utcnow())
    )


def purchase(session: Session, caller: Caller, request: CreditPurchase) -> tuple[dict[str, Any], bool]:
    """Add purchased credits. The same reference with the same credits is a replay
    (returned, ``False``); with other credits it is a conflict."""
    existing = session.scalar(
        select(CreditEntry).where(
            CreditEntry.org_id == caller.org_id,
            CreditEntry.kind == PURCHASE,
            CreditEntry.reference == request.reference,
        )
    )
    if existing is not None:
        if existing.credits != request.credits:
            raise PurchaseReferenceUsed(
                f"reference {request.reference!r} already bought {existing.credits} credits",
                [{"field": "reference", "message": "already used for another purchase"}],
            )
        return entry_out(existing), False
    _ensure_account(session, caller.org_id)
    entry = _entry(
        caller.org_id, PURCHASE, request.credits, user_id=caller.user_id, reference=request.reference
    )
    session.add(entry)
    _move(session, caller.org_id, request.credits)
    session.flush()
    return entry_out(entry), True


def debit(session: Session, org_id: str, user_id: str, sms_id: str, credits: int) -> None:
    """Take ``credits`` for an SMS, or raise ``InsufficientCredits`` and take nothing.

    The balance row stays locked until the transaction ends: callers debit last,
    just before committing, so that concurrent sends wait for it as briefly as possible.
    """
    # The entry goes in first, before the balance row is locked (a plain row: this is the send path).
    session.execute(
        insert(CreditEntry.__table__), _entry_row(org_id, DEBIT, -credits, user_id=user_id, sms_id=sms_id)
    )
    taken = session.execute(
        update(CreditAccount)
        .where(CreditAccount.org_id == org_id, CreditAccount.balance >= credits)
        .values(balance=CreditAccount.balance - credits, updated_at=utcnow())
    ).rowcount
    if taken != 1:
        left = session.scalar(select(CreditAccount.balance).where(CreditAccount.org_id == org_id)) or 0
        raise InsufficientCredits(
            f"insufficient credits: this SMS takes {credits}, the organisation has {left} left",
            [{"field": "body", "message": f"needs {credits} credits, {left} left"}],
        )


def held(session: Session, sms_id: str) -> int:
    """The credits an SMS holds now: its debits less its refunds."""
    net = session.scalar(select(func.sum(CreditEntry.credits)).where(CreditEntry.sms_id == sms_id))
    return -(net or 0)


def refund(session: Session, org_id: str, user_id: str, sms_id: str, credits: int) -> bool:
    """Give back the credits of a failed SMS, once; False if it was refunded already
    (also when it was charged again since: the provider said it went out)."""
    already = session.scalar(
        select(CreditEntry.id).where(CreditEntry.sms_id == sms_id, CreditEntry.kind == REFUND)
    )
    if already is not None:
        return False
    session.add(_entry(org_id, REFUND, credits, user_id=user_id, sms_id=sms_id))
    _move(session, org_id, credits)
    return True


def charge_again(session: Session, org_id: str, user_id: str, sms_id: str, credits: int) -> bool:
    """Take back the credits of a refunded SMS that the provider did send after all;
    False if it holds them already.

    Unconditional: the provider has spent them, so the balance may go below zero,
    and then no SMS goes out until credits are bought.
    """
    if held(session, sms_id) > 0:
        return False
    session.add(_entry(org_id, DEBIT, -credits, user_id=user_id, sms_id=sms_id))
    _move(session, org_id, -credits)
    return True


def _entry_row(org_id: str, kind: str, credits: int, **fields: Any) -> dict[str, Any]:
    row = {"id": new_id(), "org_id": org_id, "kind": kind, "credits": credits, "created_at": utcnow()}
    return {"reference": None, "sms_id": None, "user_id": None, **row, **fields}


def _entry(org_id: str, kind: str, credits: int, **fields: Any) -> CreditEntry:
    return CreditEntry(**_entry_row(org_id, kind, credits, **fields))


def entry_out(entry: CreditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "credits": entry.credits,
        "reference": entry.reference,
        "sms_id": entry.sms_id,
        "user_id": entry.user_id,
        "created_at": aware(entry.created_at).isoformat(),
    }


def entries_page(session: Session, org_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The balance and the ledger, newest first (ids are time-ordered), ``limit`` entries per page."""
    query = select(CreditEntry).where(CreditEntry.org_id == org_id)
    if cursor:
        query = query.where(CreditEntry.id < cursor_row(session, CreditEntry, org_id, cursor).id)
    rows = session.scalars(query.order_by(CreditEntry.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return {
        "balance": balance(session, org_id),
        "entries": [entry_out(entry) for entry in page],
        "next_cursor": page[-1].id if len(rows) > limit else None,
    }
