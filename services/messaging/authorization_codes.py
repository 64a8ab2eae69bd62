"""SMS authorization codes: an admin issues one to a user, who gives it with every send.

The code is shown once and kept as its SHA-256 (it is random enough that no
slow hash is needed). A code may expire and may cap the credits it spends per
calendar month (UTC); the cap is charged by one conditional UPDATE, so
concurrent sends cannot pass it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from crm.ids import new_id
from crm.times import aware, iso, utcnow
from services.messaging.exceptions import AuthorizationCodeNotFound, AuthorizationRefused
from services.messaging.models import AuthorizationCode
from services.messaging.schemas import AuthorizationCodeCreate

# Crockford's base32 without look-alikes: easy to read out and type on a phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS, _GROUP_LENGTH = 3, 4  # 60 bits


def new_code() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS))
    return "-".join(groups)


def code_hash(code: str) -> str:
    """The hash of a code as typed: case, spaces and dashes do not matter."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def issue(session: Session, caller: Caller, request: AuthorizationCodeCreate) -> dict[str, Any]:
    """A new code for ``request.user_id`` (checked to be of the caller's organisation by the caller)."""
    if request.expires_at is not None and request.expires_at <= utcnow():
        raise invalid("expires_at", "is in the past")
    code = new_code()
    row = AuthorizationCode(
        id=new_id(),
        org_id=caller.org_id,
        user_id=request.user_id,
        code_hash=code_hash(code),
        label=request.label,
        expires_at=request.expires_at,
        monthly_cap=request.monthly_cap,
        cap_month=None,
        used_in_month=0,
        created_by=caller.user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return {**code_out(row), "code": code}


def revoke(session: Session, caller: Caller, code_id: str) -> dict[str, Any]:
    row = code_of(session, caller.org_id, code_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return code_out(row)


def code_of(session: Session, org_id: str, code_id: str) -> AuthorizationCode:
    row = session.get(AuthorizationCode, code_id)
    if row is None or row.org_id != org_id:
        raise AuthorizationCodeNotFound(f"no authorization code {code_id}")
    return row


def list_codes(session: Session, org_id: str, user_id: str | None = None) -> list[dict[str, Any]]:
    query = select(AuthorizationCode).where(AuthorizationCode.org_id == org_id)
    if user_id is not None:
        query = query.where(AuthorizationCode.user_id == user_id)
    return [code_out(row) for row in session.scalars(query.order_by(AuthorizationCode.id.desc()))]


def code_out(row: AuthorizationCode) -> dict[str, Any]:
    this_month = month_of(utcnow())
    return {
        "id": row.id,
        "user_id": row.user_id,
        "label": row.label,
        "expires_at": iso(row.expires_at),
        "monthly_cap": row.monthly_cap,
        # Counted for capped codes only (an uncapped code's row is never locked by a send).
        "used_this_month": None
        if row.monthly_cap is None
        else row.used_in_month
        if row.cap_month == this_month
        else 0,
        "created_at": iso(row.created_at),
        "revoked_at": iso(row.revoked_at),
    }


def find_valid(session: Session, caller: Caller, code: str) -> Any:
    """The caller's code if it may send now (not revoked, not expired); refused with the reason otherwise."""
    codes = AuthorizationCode.__table__
    # A plain row (attributes as on the model): this is the send path.
    row = session.execute(select(codes).where(codes.c.code_hash == code_hash(code))).first()
    if row is None or row.org_id != caller.org_id or row.user_id != caller.user_id:
        raise AuthorizationRefused("authorization code is wrong: it is not a code issued to you")
    if row.revoked_at is not None:
        raise AuthorizationRefused(f"authorization code was revoked on {iso(row.revoked_at)}")
    if row.expires_at is not None and aware(row.expires_at) <= utcnow():
        raise AuthorizationRefused(f"authorization code expired on {iso(row.expires_at)}")
    return row


def charge(session: Session, row: Any, credits: int) -> None:
    """Count ``credits`` against a capped code's month, or refuse if that passes its monthly cap.

    One conditional UPDATE, so concurrent sends cannot pass the cap together; it
    locks the code's row until the transaction ends, so callers run it last.
    """
    month = month_of(utcnow())
    used = case((AuthorizationCode.cap_month == month, AuthorizationCode.used_in_month), else_=0)
    if row.monthly_cap is None:
        return  # nothing to count: the code's row stays unlocked, concurrent sends do not queue on it
    charged = session.execute(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.id == row.id,
            or_(AuthorizationCode.monthly_cap.is_(None), used + credits <= AuthorizationCode.monthly_cap),
        )
        .values(used_in_month=used + credits, cap_month=month)
        .execution_options(synchronize_session=False)
    ).rowcount
    if charged != 1:
        now = session.get(AuthorizationCode, row.id)
        spent = now.used_in_month if now.cap_month == month else 0
        raise AuthorizationRefused(
            f"authorization code reached its monthly cap: {spent} of {row.monthly_cap} credits used "
            f"in {month}, this SMS takes {credits}"
        )


def give_back(session: Session, code_id: str, credits: int, spent_on: datetime) -> None:
    """Return a refunded SMS's credits to its code's month, if that month is still counted."""
    month = month_of(aware(spent_on))
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.cap_month == month)
        .values(
            used_in_month=case(
                (AuthorizationCode.used_in_month > credits, AuthorizationCode.used_in_month - credits),
                else_=0,
            )
        )
        .execution_options(synchronize_session=False)
    )


def count_again(session: Session, code_id: str, credits: int, spent_on: datetime) -> None:
    """Count a re-charged SMS's credits in its code's month again, if that month is still counted
    (past the cap if need be: the message went out)."""
    month = month_of(aware(spent_on))
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.cap_month == month)
        .values(used_in_month=AuthorizationCode.used_in_month + credits)
        .execution_options(synchronize_session=False)
    )
