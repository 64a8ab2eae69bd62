"""Per-user SMTP passwords: mail clients outside the office network authenticate with them.

The user name is the user's ingest address; the password is a random secret the user is
shown once. Only its SHA-256 is kept (a 144-bit random secret needs no slow hash), beside the
address, so the listener checks a login with one read of its own table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from crm.errors import NotFound
from crm.times import utcnow
from services.mailin import recipients
from services.mailin.models import IngestAddress


@dataclass(frozen=True)
class SmtpLogin:
    """Who authenticated: AUTH may then deliver to this user's own ingest address only."""

    org_id: str
    user_id: str


_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def password_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(session: Session, user_id: str, ingest_domain: str) -> dict[str, str]:
    """A new SMTP password for the user (the previous one stops working), shown this once."""
    row = session.get(IngestAddress, user_id, with_for_update=True)
    if row is None or row.local_part is None or not row.active:
        raise NotFound("your ingest address is not known to mail ingestion yet; try again in a moment")
    # Letters and digits only (24 of 62: 142 bits): pasted into a mail client or a command line,
    # a password starting with '-' reads as an option (swaks refused one).
    raw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(24))
    row.smtp_password_hash, row.updated_at = password_hash(raw), utcnow()
    return {"username": f"{row.local_part}@{ingest_domain}", "password": raw}


def revoke(session: Session, user_id: str) -> None:
    row = session.get(IngestAddress, user_id, with_for_update=True)
    if row is not None:
        row.smtp_password_hash = None


def check(connection: Connection, login: str, password: str, ingest_domain: str) -> SmtpLogin | None:
    """The user whose ingest address is ``login`` and whose SMTP password is ``password``."""
    if not recipients.is_ingest_domain(login, ingest_domain):
        return None
    local_part = recipients.split_address(login)[0]
    row = connection.execute(
        select(
            IngestAddress.org_id,
            IngestAddress.user_id,
            IngestAddress.active,
            IngestAddress.smtp_password_hash,
        ).where(IngestAddress.local_part == local_part)
    ).first()
    if row is None or not row.active or row.smtp_password_hash is None:
        hmac.compare_digest(password_hash(password), password_hash(""))  # the same work either way
        return None
    if not hmac.compare_digest(password_hash(password), row.smtp_password_hash):
        return None
    return SmtpLogin(org_id=row.org_id, user_id=row.user_id)
