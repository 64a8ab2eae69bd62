"""Group apply: events arriving while a transaction is in flight share the next one; one that
fails there is applied alone and fails alone."""

from __future__ import annotations

import eventlet
import pytest

from crm.group_apply import GroupApply


class Recorder:
    """An ``apply_group`` that takes a moment, as a transaction does, and keeps its groups."""

    def __init__(self, failing: set[int] | None = None):
        self.groups: list[list[int]] = []
        self.applied: list[int] = []
        self.failing = failing or set()

    def __call__(self, items: list[int]) -> None:
        self.groups.append(list(items))
        eventlet.sleep(0.02)
        bad = self.failing.intersection(items)
        if bad:
            raise ValueError(f"item {min(bad)} is refused")
        self.applied.extend(items)


def run_workers(group: GroupApply[int], recorder: Recorder, items: list[int]) -> dict[int, object]:
    """Each item handed over by a worker of its own, all at about the same time; what each
    worker got: None, or the exception it raised."""
    outcomes: dict[int, object] = {}

    def worker(item: int) -> None:
        try:
            group.apply(item, recorder)
            outcomes[item] = None
        except Exception as exc:
            outcomes[item] = exc

    pool = eventlet.GreenPool(len(items))
    for item in items:
        pool.spawn(worker, item)
        eventlet.sleep(0)  # the first starts its group before the others arrive
    pool.waitall()
    return outcomes


def test_the_first_is_applied_at_once_and_those_arriving_meanwhile_together():
    recorder = Recorder()
    outcomes = run_workers(GroupApply(), recorder, list(range(8)))
    assert outcomes == {item: None for item in range(8)}
    assert recorder.groups == [[0], [1, 2, 3, 4, 5, 6, 7]]
    assert sorted(recorder.applied) == list(range(8))


def test_a_group_takes_at_most_its_limit():
    recorder = Recorder()
    outcomes = run_workers(GroupApply(limit=3), recorder, list(range(8)))
    assert all(outcome is None for outcome in outcomes.values())
    assert recorder.groups == [[0], [1, 2, 3], [4, 5, 6], [7]]


def test_one_refused_item_fails_alone_and_the_others_are_applied():
    recorder = Recorder(failing={5})
    outcomes = run_workers(GroupApply(), recorder, list(range(8)))
    assert isinstance(outcomes[5], ValueError)
    assert str(outcomes[5]) == "item 5 is refused"
    assert {item for item, outcome in outcomes.items() if outcome is None} == {0, 1, 2, 3, 4, 6, 7}
    # the group failed whole, then each of its items was applied in a transaction of its own
    assert recorder.groups[:2] == [[0], [1, 2, 3, 4, 5, 6, 7]]
    assert recorder.groups[2:] == [[1], [2], [3], [4], [5], [6], [7]]
    assert sorted(recorder.applied) == [0, 1, 2, 3, 4, 6, 7]


def test_a_lone_item_that_fails_is_tried_once():
    recorder = Recorder(failing={0})
    with pytest.raises(ValueError, match="item 0 is refused"):
        GroupApply().apply(0, recorder)
    assert recorder.groups == [[0]]


def test_the_group_goes_on_after_a_failure_and_after_a_killed_leader():
    group: GroupApply[int] = GroupApply()
    recorder = Recorder()
    leader = eventlet.spawn(group.apply, 0, recorder)
    eventlet.sleep(0.005)  # the leader is applying its group
    waiter = eventlet.spawn(group.apply, 1, recorder)
    eventlet.sleep(0)
    leader.kill()  # nameko kills its workers on a container's kill
    waiter.wait()  # the next group is still led, by the waiter
    assert recorder.groups == [[0], [1]]
    assert 1 in recorder.applied
    run_workers(group, recorder, [2, 3])
    assert recorder.groups[-2:] == [[2], [3]]
