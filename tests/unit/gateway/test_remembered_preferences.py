"""The gateway keeps a caller's preferences a few seconds per process, and a save replaces them."""

from __future__ import annotations

import time
from typing import Any

from crm.auth import Caller
from services.gateway.dependencies import PreferencesAccess, RememberedPreferences

BOB = Caller("bob", "pomme", "member", False, "s-1", int(time.time()) + 900)


class CountingPreferences(RememberedPreferences):
    """The provider with its RPC replaced by a counter (no container, no broker)."""

    def __init__(self) -> None:
        super().__init__()
        self.kept = {}
        self.calls: list[str] = []
        self.stored: dict[str, Any] = {"language": None}

    def call(self, worker_ctx: Any, method_name: str, args: tuple, kwargs: dict) -> Any:
        self.calls.append(method_name)
        if method_name == "replace_my_preferences":
            self.stored = args[0]
        return self.stored


def test_lists_opened_together_ask_accounts_once():
    provider = CountingPreferences()
    access = PreferencesAccess(provider, worker_ctx=None)

    assert access.of(BOB) == access.of(BOB) == {"language": None}

    assert provider.calls == ["get_my_preferences"]


def test_a_save_through_this_process_is_used_at_once():
    provider = CountingPreferences()
    access = PreferencesAccess(provider, worker_ctx=None)
    access.of(BOB)

    access.replace(BOB, {"language": "en"})

    assert access.of(BOB) == {"language": "en"}
    assert provider.calls == ["get_my_preferences", "replace_my_preferences"]


def test_reading_them_for_the_preferences_route_asks_accounts_again():
    provider = CountingPreferences()
    access = PreferencesAccess(provider, worker_ctx=None)
    access.of(BOB)

    access.of(BOB, fresh=True)

    assert provider.calls == ["get_my_preferences"] * 2


def test_kept_preferences_are_asked_again_once_stale():
    provider = CountingPreferences()
    provider.KEEP_SECONDS = 0
    access = PreferencesAccess(provider, worker_ctx=None)

    access.of(BOB)
    access.of(BOB)

    assert provider.calls == ["get_my_preferences"] * 2
