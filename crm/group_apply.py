"""Group apply: the events that arrive while one transaction applies others, in the next one.

A consumer whose transactions run one after another anyway (sync's change feed
holds one counter row from its first change to its commit) pays a BEGIN, the
counter and a COMMIT per event. With ``GroupApply`` each worker hands its item
to the group and waits: a worker that finds no group in flight leads one at
once (nobody waits for a group to fill); the workers that arrive meanwhile
queue, and when the group in flight ends the first of them leads the next one,
which takes all the queued items (up to ``limit``). Each worker returns (and its
event is acknowledged) once a committed group held its item, or raises what
applying its item raised.

Should a group's transaction fail, each of its items is applied again alone, in
a transaction of its own: one event that fails (its handler's bug, a conflict)
fails alone and goes back to its queue, the others are applied.

Green threads only (nameko's workers): the waiting is eventlet's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from eventlet.event import Event

T = TypeVar("T")

# Items per group: a group is one transaction, holding its locks until its commit.
LIMIT = 50


@dataclass
class _Waiter(Generic[T]):
    item: T
    event: Event = field(default_factory=Event)


_LEAD = object()


class GroupApply(Generic[T]):
    """Applies items in groups (see the module's text); one per consumer and process."""

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.waiting: list[_Waiter[T]] = []
        self.leading = False

    def apply(self, item: T, apply_group: Callable[[list[T]], None]) -> None:
        """Returns once ``item`` was applied by ``apply_group`` (a transaction), with others or
        alone when that failed; raises what applying it alone raised."""
        waiter = _Waiter(item)
        self.waiting.append(waiter)
        if not self.leading:
            self.leading = True
            self._lead(apply_group)
        while True:
            outcome = waiter.event.wait()
            if outcome is _LEAD:
                waiter.event = Event()
                self._lead(apply_group)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            return

    def _lead(self, apply_group: Callable[[list[T]], None]) -> None:
        """Apply the first ``limit`` waiting items, tell each how it went, then hand the lead to
        the next waiter (or give it up). Killed meanwhile, the group's items fail (their events
        go back to their queues) and the lead still passes on."""
        group, self.waiting = self.waiting[: self.limit], self.waiting[self.limit :]
        outcomes: list[Any] = []
        try:
            outcomes = _outcomes(group, apply_group)
        except BaseException as exc:  # the worker killed: none of the group is known applied
            outcomes = [RuntimeError(f"applying stopped: {type(exc).__name__}")] * len(group)
            raise
        finally:
            for waiter, outcome in zip(group, outcomes, strict=True):
                waiter.event.send(outcome)
            if self.waiting:
                self.waiting[0].event.send(_LEAD)
            else:
                self.leading = False


def _outcomes(group: list[_Waiter[T]], apply_group: Callable[[list[T]], None]) -> list[Any]:
    """None for each item applied, else the exception it raised alone."""
    try:
        apply_group([waiter.item for waiter in group])
        return [None] * len(group)
    except Exception as exc:
        if len(group) == 1:  # it failed alone already
            return [exc]
    return [_alone(apply_group, waiter.item) for waiter in group]


def _alone(apply_group: Callable[[list[T]], None], item: T) -> Exception | None:
    try:
        apply_group([item])
    except Exception as exc:
        return exc
    return None
