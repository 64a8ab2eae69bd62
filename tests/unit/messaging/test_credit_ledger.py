"""The SMS credit ledger: purchases counted once, the balance, the ledger's pages."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly, InvalidInput, ReadOnlyUser
from services.messaging.exceptions import PurchaseReferenceUsed
from tests.people import ALICE, BOB, CLAIRE

from .sms_steps import buy


def test_the_balance_is_the_sum_of_purchases(messaging):
    buy(messaging, 100, "FAC-1")
    buy(messaging, 50, "FAC-2")
    assert messaging.as_user(BOB).get_credits()["balance"] == 150


def test_a_purchase_reference_counts_once(messaging):
    first = buy(messaging, 100, "FAC-1")
    replay = buy(messaging, 100, "FAC-1")
    assert (first["created"], replay["created"], replay["id"]) == (True, False, first["id"])
    assert messaging.as_user(ALICE).get_credits()["balance"] == 100
    with pytest.raises(PurchaseReferenceUsed):
        buy(messaging, 200, "FAC-1")


def test_only_a_writing_admin_buys_credits(messaging):
    with pytest.raises(AdminOnly):
        buy(messaging, 10, person=BOB)
    with pytest.raises(ReadOnlyUser):
        buy(messaging, 10, person=CLAIRE)
    assert messaging.count("credit_entries") == 0


def test_the_ledger_pages_newest_first(messaging):
    for number in range(5):
        buy(messaging, 10 + number, f"FAC-{number}")
    first = messaging.as_user(ALICE).get_credits(limit=3)
    second = messaging.as_user(ALICE).get_credits(limit=3, cursor=first["next_cursor"])
    assert [entry["credits"] for entry in first["entries"] + second["entries"]] == [14, 13, 12, 11, 10]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["zzzz", "0000"])
def test_a_cursor_the_ledger_never_issued_is_refused_not_the_first_page(messaging, cursor):
    buy(messaging, 10, "FAC-1")
    with pytest.raises(InvalidInput) as refused:
        messaging.as_user(ALICE).get_credits(cursor=cursor)
    assert refused.value.errors == [{"field": "cursor", "message": "not a cursor of this list"}]
