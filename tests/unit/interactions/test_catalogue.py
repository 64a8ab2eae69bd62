"""The catalogue: interaction types and their statuses, seeded per organisation."""

from __future__ import annotations

from tests.people import BOB


def test_types_are_seeded_with_sales_stages_and_invoice_lifecycles(interactions):
    types = {row["key"]: row for row in interactions.as_user(BOB).list_types()}
    assert {
        "call",
        "meeting",
        "sales_opportunity",
        "support_ticket",
        "purchase_invoice",
        "sales_invoice",
        "purchase",
        "delivery",
        "task",
        "pending_email",
    } <= set(types)
    assert types["sales_opportunity"]["statuses"][0]["name"] == "Vente – 1 – Prise de contact"
    assert [s["key"] for s in types["purchase_invoice"]["statuses"]][:4] == [
        "to_receive",
        "received",
        "to_pay",
        "paid",
    ]
