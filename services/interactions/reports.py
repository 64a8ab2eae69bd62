"""Reports: the sales pipeline by company, and the invoices not yet closed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.errors import invalid
from crm.validation import money_out
from services.interactions import catalogue
from services.interactions.interaction_records import interactions_out
from services.interactions.models import Interaction, InteractionLink


def _keys(text: str | None) -> list[str]:
    return [key for key in (text or "").split(",") if key]


def pipeline(session: Session, org_id: str, types: str | None, statuses: str | None) -> dict[str, Any]:
    """Per company: how many interactions and the sum of their budgets per currency.

    By default, sales opportunities in a status that is not closed. Interactions
    without a company are counted under ``company_id`` null.
    """
    known = {row.key: row for row in catalogue.types_of(session, org_id)}
    type_keys = _keys(types) or ["sales_opportunity"]
    for key in type_keys:
        if key not in known:
            raise invalid("types", f"unknown type {key!r}")
    status_keys = _keys(statuses)
    if not status_keys:
        status_keys = sorted(
            {status["key"] for key in type_keys for status in known[key].statuses if not status["closed"]}
        )
    company = (
        select(InteractionLink.target_id)
        .where(InteractionLink.interaction_id == Interaction.id, InteractionLink.kind == "company")
        .correlate(Interaction)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            company.label("company_id"),
            Interaction.budget_currency,
            func.count().label("interactions"),
            func.coalesce(func.sum(Interaction.budget_amount), 0).label("budget"),
        )
        .where(
            Interaction.org_id == org_id,
            Interaction.deleted_at.is_(None),
            Interaction.type_key.in_(type_keys),
            Interaction.status_key.in_(status_keys),
        )
        .group_by(company, Interaction.budget_currency)
    ).all()
    companies: dict[str | None, dict[str, Any]] = defaultdict(lambda: {"interactions": 0, "budgets": {}})
    for row in rows:
        entry = companies[row.company_id]
        entry["interactions"] += row.interactions
        if row.budget_currency is not None:
            entry["budgets"][row.budget_currency] = entry["budgets"].get(
                row.budget_currency, Decimal(0)
            ) + Decimal(row.budget)
    listed = [
        {
            "company_id": company_id,
            "interactions": entry["interactions"],
            "budgets": [money_out(amount, currency) for currency, amount in sorted(entry["budgets"].items())],
        }
        for company_id, entry in companies.items()
    ]
    listed.sort(key=lambda item: (-item["interactions"], item["company_id"] or ""))
    return {"types": type_keys, "statuses": status_keys, "companies": listed}


REFS_PER_CALL = 1000


def with_company_refs(
    found: dict[str, Any], company_refs: Callable[[list[str]], dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """The pipeline with each company's ``{id, name, group, deleted}`` (contacts owns them);
    ``company`` is null for interactions without a company."""
    ids = [entry["company_id"] for entry in found["companies"] if entry["company_id"] is not None]
    refs: dict[str, dict[str, Any]] = {}
    for first in range(0, len(ids), REFS_PER_CALL):
        refs.update(company_refs(ids[first : first + REFS_PER_CALL]))
    for entry in found["companies"]:
        entry["company"] = refs.get(entry["company_id"]) if entry["company_id"] is not None else None
    return found


def unclosed_invoices(session: Session, org_id: str) -> dict[str, Any]:
    """Purchase and sales invoices whose status is not a closed one, oldest first."""
    kinds = [row for row in catalogue.types_of(session, org_id) if row.invoice]
    result: dict[str, Any] = {"purchase": [], "sales": []}
    for kind in kinds:
        open_statuses = [status["key"] for status in kind.statuses if not status["closed"]]
        rows = session.scalars(
            select(Interaction)
            .where(
                Interaction.org_id == org_id,
                Interaction.deleted_at.is_(None),
                Interaction.type_key == kind.key,
                Interaction.status_key.in_(open_statuses),
            )
            .order_by(Interaction.start_at)
        ).all()
        result[kind.invoice].extend(interactions_out(session, list(rows)))
    return result
