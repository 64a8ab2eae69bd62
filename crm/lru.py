"""A mapping bounded by a budget that forgets its least recently used entries first: what a
process keeps of answers it can write again (calendar feeds, their events)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A mapping that forgets its least recently used entries beyond ``budget`` (in the units
    of ``size``: characters of text, or entries)."""

    def __init__(self, budget: int, size: Callable[[V], int] = lambda _: 1):
        self.budget = budget
        self.size = size
        self.used = 0
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        if key in self._entries:
            self.used -= self.size(self._entries.pop(key))
        size = self.size(value)
        if size > self.budget:  # kept, it would push out everything else
            return
        self._entries[key] = value
        self.used += size
        while self.used > self.budget:
            _, oldest = self._entries.popitem(last=False)
            self.used -= self.size(oldest)

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, or None if it was not kept."""
        value = self._entries.pop(key, None)
        if value is not None:
            self.used -= self.size(value)
        return value

    def clear(self) -> None:
        self._entries.clear()
        self.used = 0

    def __len__(self) -> int:
        return len(self._entries)
