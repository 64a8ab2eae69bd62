"""Business figures a service reads from its own database when Prometheus scrapes.

A service that holds figures has a ``metrics.py`` whose ``collectors(engine)``
returns ``StoredFigures`` collectors; the process registers them on its
registry at start (``crm.metrics``). Values read at the scrape survive
restarts, and every process of a service shows the same ones: aggregate them
across processes with ``max``, never ``sum``.

A scrape must not fail because the database does: a collector that cannot
read yields nothing that time (the rest of the scrape goes out) and logs one
line. Its queries may not run longer than ``STATEMENT_TIMEOUT_MS``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# Longer than any figure query takes on a healthy database, short against Prometheus' scrape timeout.
STATEMENT_TIMEOUT_MS = 3000


def counter(name: str, documentation: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, labels=list(labels))


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class StoredFigures:
    """A Prometheus collector of figures one service's database holds.

    A subclass says which families it yields in ``families`` (empty: what the
    registry checks names against, without a query) and fills them in ``read``,
    in a few aggregate queries on one connection. ``refresh_seconds`` above 0
    keeps what was read that long, for figures that aggregate a large table:
    scrapes in between get the same values (and after a failed read, none, rather
    than a query that timed out tried again at every scrape).
    """

    refresh_seconds: float = 0

    def __init__(self, engine: Engine):
        self.engine = engine
        self._kept: list[Metric] | None = None
        self._read_at: float | None = None

    def families(self) -> list[Metric]:
        raise NotImplementedError

    def read(self, connection: Connection) -> list[Metric]:
        raise NotImplementedError

    def describe(self) -> list[Metric]:
        return self.families()

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.refresh_seconds:
            self._kept = self._read_now()
            self._read_at = now
        yield from self._kept or ()

    def _read_now(self) -> list[Metric] | None:
        name = type(self).__name__
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                return self.read(connection)
        except (SQLAlchemyError, OSError) as exc:  # the database away or slow: expected, one line
            log.warning("%s not read this scrape: %s", name, _one_line(exc))
        except Exception:  # a defect in a figure's query: say where, and still let the scrape go out
            log.exception("%s failed", name)
        return None


def _one_line(exc: BaseException) -> str:
    cause: Any = getattr(exc, "orig", None) or exc
    words = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {words[:300]}"
