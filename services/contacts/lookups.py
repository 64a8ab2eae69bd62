"""Finding records in the caller's organisation: another organisation's record, or a deleted
one, is not found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import bindparam, literal, or_, select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.records import record_of
from crm.times import utcnow
from services.contacts.exceptions import CompanyNotFound, ContactNotFound
from services.contacts.models import Company, Contact, ContactInterest, Employment


def today() -> date:
    return utcnow().date()


def is_current(employment: Employment, on: date) -> bool:
    return employment.end_date is None or employment.end_date >= on


def current_clause(on: date) -> Any:
    """SQL for ``is_current``."""
    return or_(Employment.end_date.is_(None), Employment.end_date >= on)


def company_of(
    session: Session, org_id: str, company_id: str, field: str | None = None, *, lock: bool = False
) -> Company:
    """A company of ``org_id`` that is not deleted; anything else is not found.

    Named by a request body's ``field`` (an employment's company), it is invalid
    input naming the field (422), as other services answer for links; in the
    path it is not found (404). ``lock`` holds its row until the transaction ends
    (an update checking the version it was read at).
    """
    try:
        return record_of(session, Company, org_id, company_id, CompanyNotFound, "company", lock=lock)
    except CompanyNotFound:
        if field:
            raise invalid(field, f"no company {company_id} in your organisation") from None
        raise


# Built once: a statement made per call cost more to build than to run.
EMAIL_HOLDER = select(Contact.id).where(
    Contact.org_id == bindparam("org_id"), Contact.email == bindparam("email"), Contact.deleted_at.is_(None)
)
_COMPANIES_AND_EMAIL_HOLDER = select(
    EMAIL_HOLDER.limit(1).scalar_subquery().label("email_holder"), Company.__table__
).select_from(
    select(literal(1).label("one"))
    .subquery()
    # By id alone, the organisation and deletion checked on the rows (as ``record_of`` does): the
    # primary key is then the plan, also on tables never analysed.
    .outerjoin(Company.__table__, Company.__table__.c.id.in_(bindparam("company_ids", expanding=True)))
)


def email_holder(session: Session, org_id: str, email: str) -> str | None:
    """The live contact of ``org_id`` whose e-mail is ``email``, if one is. Rows this transaction
    added count (the session is flushed first); the query goes on the session's connection,
    without the ORM's cost for one id."""
    session.flush()
    return session.connection().execute(EMAIL_HOLDER, {"org_id": org_id, "email": email}).scalar()


def companies_and_email_holder(
    session: Session, org_id: str, company_ids: list[str], email: str | None
) -> tuple[dict[str, Any], str | None]:
    """What a contact create checks, read in one statement: the live companies of ``org_id``
    among ``company_ids`` (rows, by id) and the live contact holding ``email`` (None if free).
    Rows this transaction added count."""
    if not company_ids:
        return {}, None if email is None else email_holder(session, org_id, email)
    session.flush()
    parameters = {"org_id": org_id, "email": email, "company_ids": company_ids}
    rows = session.connection().execute(_COMPANIES_AND_EMAIL_HOLDER, parameters).all()
    live = {row.id: row for row in rows if row.org_id == org_id and row.deleted_at is None}
    return live, rows[0].email_holder


def company_in(found: dict[str, Any], company_id: str, field: str) -> Any:
    """The company ``company_id`` among those ``companies_and_email_holder`` found; a company that
    is not there is invalid input naming ``field``, as ``company_of`` answers."""
    company = found.get(company_id)
    if company is None:
        raise invalid(field, f"no company {company_id} in your organisation")
    return company


def contact_of(session: Session, org_id: str, contact_id: str, *, lock: bool = False) -> Contact:
    """A contact of ``org_id`` that is not deleted; anything else is not found. ``lock`` holds
    its row until the transaction ends (an update checking the version it was read at)."""
    return record_of(session, Contact, org_id, contact_id, ContactNotFound, "contact", lock=lock)


def current_employments(session: Session, contact_ids: Iterable[str]) -> dict[str, list[tuple[Any, Any]]]:
    """Each contact's current (employment, company) pairs, by company name."""
    return _pairs(
        session,
        contact_ids,
        Company.deleted_at.is_(None),
        current_clause(today()),
        order_by=(Company.name, Employment.id),
    )


def interest_ids(session: Session, contact_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each contact's interests, by id."""
    found: dict[str, list[str]] = defaultdict(list)
    rows = _grouped(
        session,
        contact_ids,
        lambda ids: (
            select(ContactInterest.contact_id, ContactInterest.interest_id)
            .where(ContactInterest.contact_id.in_(ids))
            .order_by(ContactInterest.interest_id)
        ),
    )
    for contact_id, held in rows.items():
        found[contact_id] = [interest_id for (interest_id,) in held]
    return found


def employment_pairs(session: Session, contact_ids: Iterable[str]) -> dict[str, list[tuple[Any, Any]]]:
    """Each contact's (employment, company) pairs: every employment that is not deleted."""
    return _pairs(session, contact_ids)


def current_staff(session: Session, company_ids: Iterable[str]) -> dict[str, list[tuple[Any, Any]]]:
    """Each company's current (employment, contact) pairs of contacts not deleted, by last and
    first name."""
    found = _grouped(
        session,
        company_ids,
        lambda ids: (
            select(Employment.company_id, Employment, Contact)
            .join(Contact, Contact.id == Employment.contact_id)
            .where(
                Employment.company_id.in_(ids),
                Employment.deleted_at.is_(None),
                Contact.deleted_at.is_(None),
                current_clause(today()),
            )
        ),
    )
    for pairs in found.values():
        pairs.sort(key=lambda pair: (pair[1].last_name or "", pair[1].first_name or "", pair[1].id))
    return found


def _pairs(
    session: Session, contact_ids: Iterable[str], *conditions: Any, order_by: tuple[Any, ...] = ()
) -> dict[str, list[tuple[Any, Any]]]:
    return _grouped(
        session,
        contact_ids,
        lambda ids: (
            select(Employment.contact_id, Employment, Company)
            .join(Company, Company.id == Employment.company_id)
            .where(Employment.contact_id.in_(ids), Employment.deleted_at.is_(None), *conditions)
            .order_by(*order_by)
        ),
    )


def _grouped(
    session: Session, ids: Iterable[str], statement: Callable[[list[str]], Any]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of ``statement(ids)`` grouped by their first column (one of ``ids``), without it."""
    wanted = list(ids)
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    if not wanted:
        return found
    for key, *rest in session.execute(statement(wanted)).all():
        found[key].append(tuple(rest))
    return found
