"""What the entrypoint metrics cost an RPC: the same service with and without them, one process.

``python -m bench.metrics_overhead`` starts two copies of a probe service (one measured by
``crm.metrics.entrypoints.EntrypointMetrics``, one not) and a driver that calls each through
``RpcClient``, ``BENCH_CALLS`` times a round (default 2,000), rounds alternated, and prints
the wall time and the process's CPU time per call. ``echo`` does nothing; ``read`` runs one
statement, so its measured copy also pays for the statement timing. Needs RabbitMQ at
``AMQP_URI`` and a database at ``BENCH_DATABASE_URL`` (default: SQLite in a temporary folder).
"""

from __future__ import annotations

import warnings

import eventlet

eventlet.monkey_patch()
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, Table, text  # noqa: E402

from crm.database import Database, create_service_engine  # noqa: E402
from crm.metrics.entrypoints import EntrypointMetrics  # noqa: E402
from crm.rpc import RpcClient, rpc  # noqa: E402
from crm.settings import Settings  # noqa: E402

metadata = MetaData()
Table("bench_rows", metadata, Column("id", Integer, primary_key=True))


class Unmeasured:
    name = "bench_unmeasured"
    db = Database(metadata)

    @rpc
    def echo(self, value: int) -> int:
        return value

    @rpc
    def read(self) -> int:
        with self.db.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar()


class Measured(Unmeasured):
    name = "bench_measured"
    entrypoint_metrics = EntrypointMetrics()


class Driver:
    name = "bench_driver"
    unmeasured = RpcClient("bench_unmeasured")
    measured = RpcClient("bench_measured")

    @rpc
    def loop(self, target: str, method: str, calls: int) -> tuple[float, float]:
        """Wall and CPU microseconds per call of ``calls`` calls in a row."""
        client = getattr(self, target)
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(calls):
            getattr(client, method)(*([n] if method == "echo" else []))
        return (time.perf_counter() - started) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def main() -> None:
    folder = tempfile.mkdtemp(prefix="crm-bench-")
    settings = Settings.model_validate(
        {
            "amqp_uri": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            "database": {"url": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder}/{{service}}.db")},
        }
    )
    for service in (Unmeasured.name, Measured.name):
        engine = create_service_engine(settings, service)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
        engine.dispose()
    calls = int(os.environ.get("BENCH_CALLS", "2000"))
    config = settings.nameko_config()
    containers = [ServiceContainer(cls, config) for cls in (Unmeasured, Measured, Driver)]
    for container in containers:
        container.start()
    print("| method | without: wall, CPU per call | with: wall, CPU per call | difference (medians) |")
    print("|---|---|---|---|")
    try:
        with ClusterRpcProxy(config, timeout=600) as cluster:
            for method in ("echo", "read"):
                for target in ("unmeasured", "measured"):  # warm up
                    cluster.bench_driver.loop(target, method, 200)
                rounds: dict[str, list[tuple[float, float]]] = {"unmeasured": [], "measured": []}
                for _ in range(4):
                    for target in rounds:
                        rounds[target].append(cluster.bench_driver.loop(target, method, calls))
                (wall_0, cpu_0), (wall_1, cpu_1) = (
                    tuple(statistics.median(r[k] for r in rounds[t]) for k in (0, 1)) for t in rounds
                )
                print(
                    f"| {method} | {wall_0:.0f} µs, {cpu_0:.0f} µs | {wall_1:.0f} µs, {cpu_1:.0f} µs "
                    f"| wall {(wall_1 - wall_0) / wall_0:+.1%}, CPU {(cpu_1 - cpu_0) / cpu_0:+.1%} |"
                )
    finally:
        for container in containers:
            container.stop()


if __name__ == "__main__":
    main()
