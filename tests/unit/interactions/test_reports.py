"""Reports: the sales pipeline and unclosed invoices."""

from __future__ import annotations

from tests.people import BOB
from tests.unit.interactions.conftest import SIEGE
from tests.unit.interactions.meetings import create


def test_the_pipeline_sums_budgets_per_company_and_unclosed_invoices_are_listed(interactions):
    create(
        interactions,
        type="sales_opportunity",
        status="proposal",
        budget={"amount": "5000.00", "currency": "EUR"},
    )
    create(interactions, type="sales_opportunity", budget={"amount": "2500.50", "currency": "EUR"})
    create(
        interactions, type="sales_opportunity", status="won", budget={"amount": "9999.00", "currency": "EUR"}
    )
    pipeline = interactions.as_user(BOB).sales_pipeline({})
    assert pipeline["companies"] == [
        {
            "company_id": SIEGE,
            "company": {"id": SIEGE, "name": "Pomme Siège Central", "group": "Pomme", "deleted": False},
            "interactions": 2,
            "budgets": [{"amount": "7500.50", "currency": "EUR"}],
        }
    ]
    create(interactions, type="purchase_invoice", subject="Facture fournisseur 42")
    create(interactions, type="sales_invoice", status="paid", subject="Facture client 7")
    invoices = interactions.as_user(BOB).unclosed_invoices()
    assert [item["subject"] for item in invoices["purchase"]] == ["Facture fournisseur 42"]
    assert invoices["sales"] == []
