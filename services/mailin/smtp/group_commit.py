"""Group commit: the rows of messages whose DATA ended at about the same time, in one COMMIT.

Each message's bytes are put in the blob store (written and fsynced) on the
listener's store threads as soon as its DATA ends, several at once: the file
system's journal takes concurrent fsyncs in one commit of its own. Its rows
then wait here for a commit: while one commit is in flight, the messages that
finish meanwhile queue, and the next commit takes them all (up to
``max_messages``) in one transaction. Nobody waits for a batch to fill: a message
that finds no commit in flight is committed at once, alone. Each 250 is still
answered only after the commit that holds that message's row returned.

Should a shared commit fail, each of its messages is committed again alone,
so that one message the database refuses does not fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from sqlalchemy import Engine

from services.mailin.store import BlobStored, commit_rows

Waiting = list[tuple[BlobStored, "asyncio.Future[None]"]]

# Rows of at most this many messages per commit.
MAX_MESSAGES = 10


class GroupCommit:
    """Commits ``BlobStored`` messages' rows, sharing a commit among those that wait together.
    Used from the listener's event loop only; the commits run on ``executor``."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        max_messages: int = MAX_MESSAGES,
        commit: Callable[[Engine, list[BlobStored]], None] = commit_rows,
    ):
        self.engine = engine
        self.commit_rows = commit
        self.executor = executor
        self.max_messages = max_messages
        self.waiting: Waiting = []
        self.committing = False
        self._alone_tasks: set[asyncio.Task[None]] = set()

    async def commit(self, message: BlobStored) -> None:
        """Returns once ``message``'s rows are committed; raises what the commit raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((message, future))
        if not self.committing:
            self._next()
        await future

    def _next(self) -> None:
        if not self.waiting:
            self.committing = False
            return
        batch, self.waiting = self.waiting[: self.max_messages], self.waiting[self.max_messages :]
        self.committing = True
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self.executor, self.commit_rows, self.engine, [m for m, _ in batch])
        done.add_done_callback(lambda outcome: self._committed(batch, outcome))

    def _committed(self, batch: Waiting, outcome: asyncio.Future) -> None:
        error = asyncio.CancelledError() if outcome.cancelled() else outcome.exception()
        if error is None:
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        elif len(batch) == 1:
            if not batch[0][1].done():
                batch[0][1].set_exception(error)
        else:
            for message, future in batch:  # each alone: one refused row must not fail the others
                task = asyncio.ensure_future(self._alone(message, future))
                self._alone_tasks.add(task)
                task.add_done_callback(self._alone_tasks.discard)
        self._next()

    async def _alone(self, message: BlobStored, future: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.commit_rows, self.engine, [message])
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(None)
