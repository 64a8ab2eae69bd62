"""What a process keeps of accounts' answers about the caller: one RPC per version of the user."""

from __future__ import annotations

from typing import Any

from crm.auth import Caller
from crm.lru import Lru
from services.interactions.dependencies import CallerUserLookup


class CountingAccounts:
    """Stands in for ``accounts``: Bruno as he is now, and how often he was asked for."""

    def __init__(self, version: int, name: str = "Bruno Petit"):
        self.user = {"id": "u-bruno", "name": name, "time_zone": "America/Montreal", "version": version}
        self.asked = 0

    def get_user(self, user_id: str) -> dict[str, Any]:
        self.asked += 1
        return dict(self.user)


def bruno(user_version: int) -> Caller:
    return Caller("u-bruno", "org-pomme", "member", False, "s-bruno-phone", 2_000_000_000, user_version)


def test_the_caller_is_asked_for_once_per_version():
    lookup, accounts = CallerUserLookup(Lru(10)), CountingAccounts(version=3)
    assert lookup.of(bruno(3), accounts)["name"] == "Bruno Petit"
    assert lookup.of(bruno(3), accounts)["name"] == "Bruno Petit"
    assert accounts.asked == 1


def test_a_renamed_caller_is_asked_for_again():
    lookup, accounts = CallerUserLookup(Lru(10)), CountingAccounts(version=3)
    lookup.of(bruno(3), accounts)
    accounts.user.update(name="Bruno Petit-Roux", version=4)
    # The rename reached this process (``crm.revocation``): the caller now has version 4.
    assert lookup.of(bruno(4), accounts)["name"] == "Bruno Petit-Roux"
    assert accounts.asked == 2


def test_an_answer_newer_than_the_callers_version_is_not_kept():
    # The change has not reached this process yet: keeping it under version 3 would be wrong
    # once it has (version 4), and keeping the old name would be wrong too; ask each time.
    lookup, accounts = CallerUserLookup(Lru(10)), CountingAccounts(version=4, name="Bruno Petit-Roux")
    assert lookup.of(bruno(3), accounts)["name"] == "Bruno Petit-Roux"
    lookup.of(bruno(3), accounts)
    assert accounts.asked == 2
