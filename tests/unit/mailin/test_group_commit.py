"""The listener's group commit, with a fake commit: who shares a commit, and who is told what."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from services.mailin.smtp.group_commit import GroupCommit
from services.mailin.store import BlobStored


def stored(number: int) -> BlobStored:
    return BlobStored(
        raw_message_id=f"raw-{number}",
        blob_hash="0" * 64,
        size=10_240,
        users=[("org-pomme", "user-claire")],
        source="smtp",
        envelope_from="scanner@pomme-siege-central.fr",
        client_address="192.168.1.20",
        mailbox_id=None,
    )


class FakeDatabase:
    """Records each commit's messages; the first commit waits until let go; refuses some ids."""

    def __init__(self, refused: frozenset[str] = frozenset()):
        self.commits: list[list[str]] = []
        self.refused = refused
        self.first_may_end = threading.Event()

    def commit(self, _engine: object, messages: list[BlobStored]) -> None:
        ids = [message.raw_message_id for message in messages]
        if not self.commits:
            self.first_may_end.wait(5)
        self.commits.append(ids)
        if self.refused.intersection(ids):
            raise ValueError("the database refused a row")


def run(database: FakeDatabase, count: int, max_messages: int = 10) -> list[object]:
    async def scenario() -> list[object]:
        with ThreadPoolExecutor(4) as executor:
            group = GroupCommit(None, executor, max_messages=max_messages, commit=database.commit)
            first = asyncio.ensure_future(group.commit(stored(0)))
            await asyncio.sleep(0.05)  # the first commit is in flight: the others queue behind it
            others = [asyncio.ensure_future(group.commit(stored(n))) for n in range(1, count)]
            await asyncio.sleep(0.05)
            database.first_may_end.set()
            return await asyncio.gather(first, *others, return_exceptions=True)

    return asyncio.run(scenario())


def test_messages_that_wait_together_share_one_commit():
    database = FakeDatabase()
    outcomes = run(database, 6)
    assert outcomes == [None] * 6
    assert database.commits == [["raw-0"], ["raw-1", "raw-2", "raw-3", "raw-4", "raw-5"]]


def test_a_commit_takes_at_most_max_messages():
    database = FakeDatabase()
    run(database, 8, max_messages=3)
    assert [len(ids) for ids in database.commits] == [1, 3, 3, 1]


def test_a_refused_message_fails_alone_and_the_others_of_its_commit_are_stored():
    database = FakeDatabase(refused=frozenset({"raw-3"}))
    outcomes = run(database, 5)
    assert [type(outcome).__name__ for outcome in outcomes] == ["NoneType"] * 3 + ["ValueError", "NoneType"]
    assert database.commits[1] == ["raw-1", "raw-2", "raw-3", "raw-4"]  # shared, refused as a whole
    assert sorted(database.commits[2:]) == [["raw-1"], ["raw-2"], ["raw-3"], ["raw-4"]]  # then alone


def test_a_message_alone_is_committed_at_once():
    database = FakeDatabase()
    database.first_may_end.set()
    assert run(database, 1) == [None]
    assert database.commits == [["raw-0"]]
