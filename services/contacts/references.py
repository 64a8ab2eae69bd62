"""Which contacts and companies other services' records may name: the live ones of the caller's
organisation, checked for many ids in one call (an interaction names several); where they are
(a check-in measures the distance to them); and the contact a received mail comes from, found
by its e-mail address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, literal, select, union_all
from sqlalchemy.orm import Session

from crm.auth import Caller
from crm.errors import invalid
from services.contacts import lookups
from services.contacts.models import Company, Contact, Employment
from services.contacts.shapes import position_out

MAX_IDS = 1000
MAX_EMAILS = 20
MAX_QUERIES = 50  # find_many_by_emails: a batch of mails


def _ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_IDS or not all(isinstance(i, str) for i in value):
        raise invalid(field, f"a list of at most {MAX_IDS} ids")
    return value


def live_ids(session: Session, caller: Caller, contact_ids: Any, company_ids: Any) -> dict[str, list[str]]:
    """``{"contact_ids": [...], "company_ids": [...]}``: those of the given ids that are contacts
    (companies) of the caller's organisation and not deleted, in the order given. One statement
    for both (an interaction names contacts and companies in each create)."""
    given = {
        "contact_ids": _ids(contact_ids, "contact_ids"),
        "company_ids": _ids(company_ids, "company_ids"),
    }
    parts = [
        select(literal(field).label("field"), model.id).where(
            model.org_id == caller.org_id, model.id.in_(set(given[field])), model.deleted_at.is_(None)
        )
        for field, model in (("contact_ids", Contact), ("company_ids", Company))
        if given[field]
    ]
    live: set[tuple[str, str]] = set()
    if parts:
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        live = {(row.field, row.id) for row in session.connection().execute(statement)}
    return {
        field: [record_id for record_id in dict.fromkeys(ids) if (field, record_id) in live]
        for field, ids in given.items()
    }


def _contact_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part) or contact.id


def positions(session: Session, caller: Caller, contact_ids: Any, company_ids: Any) -> dict[str, Any]:
    """``{"contacts": {id: {id, name, position}}, "companies": {...}}`` for the live contacts and
    companies of the caller's organisation among the given ids; ``position`` is
    ``{latitude, longitude, source}`` or None when the address has none. Other ids are left out."""
    found: dict[str, Any] = {"contacts": {}, "companies": {}}
    for key, model, given, name_of in (
        ("contacts", Contact, _ids(contact_ids, "contact_ids"), _contact_name),
        ("companies", Company, _ids(company_ids, "company_ids"), lambda company: company.name),
    ):
        if not given:
            continue
        rows = session.scalars(
            select(model).where(
                model.org_id == caller.org_id, model.id.in_(set(given)), model.deleted_at.is_(None)
            )
        )
        found[key] = {
            row.id: {"id": row.id, "name": name_of(row), "position": position_out(row)} for row in rows
        }
    return found


def _emails(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_EMAILS or not all(isinstance(e, str) for e in value):
        raise invalid("emails", f"a list of at most {MAX_EMAILS} e-mail addresses")
    return [email.strip().lower() for email in value if email.strip()]


def find_by_emails(session: Session, org_id: str, emails: Any) -> dict[str, Any] | None:
    """``{"contact_id", "company_id"}`` of the live contact of ``org_id`` that has the first of
    ``emails`` (in the order given) one has, as their own e-mail or as the professional e-mail of
    one of their employments; or None. For their own e-mail, ``company_id`` is the contact's
    current company (the first by name; None when there is none); for a professional one, the
    company of that employment (a current one before an ended one). An address that is one
    contact's own and another's professional e-mail names the first."""
    return _answers(session, [_query(org_id, emails)])[0]


def find_many_by_emails(session: Session, queries: Any) -> list[dict[str, Any] | None]:
    """``find_by_emails`` for each ``[org_id, emails]`` of ``queries``, in order: two statements
    per organisation for them all, whatever their number."""
    if not isinstance(queries, list) or len(queries) > MAX_QUERIES:
        raise invalid("queries", f"a list of at most {MAX_QUERIES} [org_id, emails] pairs")
    if not all(isinstance(query, list | tuple) and len(query) == 2 for query in queries):
        raise invalid("queries", "each an [org_id, emails] pair")
    return _answers(session, [_query(org_id, emails) for org_id, emails in queries])


def _query(org_id: Any, emails: Any) -> tuple[str, list[str]]:
    if not isinstance(org_id, str):
        raise invalid("org_id", "an organisation id")
    return org_id, list(dict.fromkeys(_emails(emails)))


def _answers(session: Session, queries: list[tuple[str, list[str]]]) -> list[dict[str, Any] | None]:
    asked: dict[str, set[str]] = {}
    for org_id, wanted in queries:
        asked.setdefault(org_id, set()).update(wanted)
    owners = {org_id: _owners(session, org_id, sorted(emails)) for org_id, emails in asked.items() if emails}
    companies: dict[str, str | None] = {}  # a contact's current company, asked once per call

    def current_company(contact_id: str) -> str | None:
        if contact_id not in companies:
            current = lookups.current_employments(session, [contact_id]).get(contact_id, [])
            companies[contact_id] = current[0][1].id if current else None
        return companies[contact_id]

    answers: list[dict[str, Any] | None] = []
    for org_id, wanted in queries:
        personal, professional = owners.get(org_id, ({}, {}))
        answer = None
        for email in wanted:
            if email in personal:
                answer = {"contact_id": personal[email], "company_id": current_company(personal[email])}
                break
            if email in professional:
                answer = professional[email]
                break
        answers.append(answer)
    return answers


def _owners(
    session: Session, org_id: str, emails: list[str]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Of ``emails``: the live contacts whose own e-mail each is, and the employment (contact and
    company) whose professional e-mail each is, a current one before an ended one."""
    personal = dict(
        session.execute(
            select(Contact.email, Contact.id).where(
                Contact.org_id == org_id, Contact.email.in_(emails), Contact.deleted_at.is_(None)
            )
        ).all()
    )
    professional: dict[str, dict[str, Any]] = {}
    for email, contact_id, company_id in session.execute(
        select(Employment.email, Employment.contact_id, Employment.company_id)
        .join(Contact, Contact.id == Employment.contact_id)
        .join(Company, Company.id == Employment.company_id)
        .where(
            Employment.org_id == org_id,
            Employment.email.in_(emails),
            Employment.deleted_at.is_(None),
            Contact.deleted_at.is_(None),
            Company.deleted_at.is_(None),
        )
        .order_by(case((lookups.current_clause(lookups.today()), 0), else_=1), Company.name, Employment.id)
    ):
        professional.setdefault(email, {"contact_id": contact_id, "company_id": company_id})
    return personal, professional
