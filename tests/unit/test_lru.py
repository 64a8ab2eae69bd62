"""The bounded mapping processes keep answers in."""

from __future__ import annotations

from crm.lru import Lru


def test_the_least_recently_used_entries_go_first_and_an_entry_too_large_is_not_kept():
    kept: Lru[str, str] = Lru(10, len)
    kept["a"], kept["b"], kept["c"] = "aaaa", "bbbb", "c"
    assert kept.get("a") == "aaaa"  # a is now the most recently used
    kept["d"] = "dddd"

    assert (kept.get("b"), kept.get("a"), kept.get("c"), kept.get("d")) == (None, "aaaa", "c", "dddd")
    assert kept.used == 9
    kept["e"] = "e" * 11
    assert kept.get("e") is None and kept.used == 9
    kept["d"] = "d" * 11  # too large: and the old value is not kept under its key either
    assert kept.get("d") is None and kept.used == 5
    kept["a"] = "a"
    assert kept.used == 2 and len(kept) == 2


def test_a_forgotten_entry_gives_back_its_budget():
    kept: Lru[str, str] = Lru(10, len)
    kept["a"], kept["b"] = "aaaa", "bb"
    assert kept.pop("a") == "aaaa" and kept.pop("a") is None
    assert kept.get("a") is None and kept.used == 2
    kept.clear()
    assert len(kept) == 0 and kept.used == 0
