"""Business figures read at the scrape (crm/figures.py) when the database is away or a query is
wrong: that collector yields nothing, logs one line, and the rest of the scrape goes out."""

from __future__ import annotations

import logging
from types import ModuleType

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import create_engine, text

from crm.figures import StoredFigures
from services.accounts import metrics as accounts
from services.contacts import metrics as contacts
from services.mailin import metrics as mailin
from services.messaging import metrics as messaging
from services.sync import metrics as sync

SERVICES = (accounts, contacts, messaging, mailin, sync)


@pytest.fixture
def unreachable():
    """A PostgreSQL nobody listens to (port 1 refuses at once)."""
    engine = create_engine(
        "postgresql+psycopg2://crm@127.0.0.1:1/crm", connect_args={"connect_timeout": 2}, hide_parameters=True
    )
    yield engine
    engine.dispose()


class Alive:
    """A collector that has nothing to do with the database: it still goes out."""

    def collect(self):
        yield GaugeMetricFamily("crm_test_alive", "Always there", value=1)


@pytest.mark.parametrize("metrics", SERVICES, ids=lambda module: module.__name__.split(".")[1])
def test_with_the_database_away_the_figures_are_absent_one_line_each_and_the_scrape_goes_out(
    metrics: ModuleType, unreachable, caplog
):
    registry = CollectorRegistry()
    collectors = metrics.collectors(unreachable)
    for collector in collectors:
        registry.register(collector)  # names come from describe(): no query
    registry.register(Alive())

    with caplog.at_level(logging.WARNING, logger="crm.figures"):
        exposed = generate_latest(registry).decode()

    assert "crm_test_alive 1.0" in exposed
    assert [line for line in exposed.splitlines() if not line.startswith("#")] == ["crm_test_alive 1.0"]
    lines = [record for record in caplog.records if record.name == "crm.figures"]
    assert len(lines) == len(collectors)
    assert all(r.levelno == logging.WARNING and "\n" not in r.getMessage() and not r.exc_info for r in lines)
    assert all("OperationalError" in r.getMessage() for r in lines)


class Broken(StoredFigures):
    """A collector whose table is missing (a migration not applied yet)."""

    def families(self):
        return [GaugeMetricFamily("crm_test_broken", "A query with a mistake in it")]

    def read(self, connection):
        connection.execute(text("SELECT no_such_column FROM no_such_table"))
        return self.families()


def test_a_query_the_database_refuses_yields_nothing_and_one_line_naming_why(tmp_path, caplog):
    engine = create_engine(f"sqlite:///{tmp_path}/figures.db")
    with caplog.at_level(logging.WARNING, logger="crm.figures"):
        assert list(Broken(engine).collect()) == []
    (record,) = [r for r in caplog.records if r.name == "crm.figures"]
    assert record.levelno == logging.WARNING and "no such table: no_such_table" in record.getMessage()
    engine.dispose()


class Counting(StoredFigures):
    refresh_seconds = 3600

    def __init__(self, engine):
        super().__init__(engine)
        self.reads = 0

    def families(self):
        return [GaugeMetricFamily("crm_test_reads", "How often the database was read")]

    def read(self, connection):
        self.reads += 1
        (family,) = self.families()
        family.add_metric([], connection.scalar(text("SELECT 1")))
        return [family]


def test_figures_over_a_large_table_are_read_once_per_refresh_not_at_every_scrape(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/figures.db")
    figures = Counting(engine)
    scrapes = [list(figures.collect()) for _ in range(3)]
    assert figures.reads == 1 and all(scrape == scrapes[0] for scrape in scrapes)
    engine.dispose()


def test_after_a_failed_read_figures_over_a_large_table_wait_their_refresh_to_try_again(unreachable, caplog):
    figures = Counting(unreachable)  # kept an hour
    with caplog.at_level(logging.WARNING, logger="crm.figures"):
        scrapes = [list(figures.collect()) for _ in range(3)]
    assert scrapes == [[], [], []] and figures.reads == 0
    assert len([r for r in caplog.records if r.name == "crm.figures"]) == 1
