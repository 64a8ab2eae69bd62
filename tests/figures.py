"""A service's business figures as Prometheus reads them: its collectors in a registry of their
own (not the process registry other tests share), read back by metric name and labels."""

from __future__ import annotations

from types import ModuleType

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine


def scrape(metrics: ModuleType, engine: Engine) -> CollectorRegistry:
    """A registry holding ``metrics.collectors(engine)``: each ``get_sample_value`` is a scrape."""
    registry = CollectorRegistry()
    for collector in metrics.collectors(engine):
        registry.register(collector)
    return registry


def samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, ...], float]:
    """Every sample of ``name``, keyed by its label values in label order."""
    return {
        tuple(sample.labels.values()): sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    }
