"""CPU time by process over a measurement: where the machine's cores went, per request.

A closed-loop benchmark on one machine is bounded by the CPU that every process
on the path spends per request: the load generator, our services, RabbitMQ and
PostgreSQL share the same cores. ``CpuMeter`` reads each process's user and
system time before and after a measurement, so a table can say how many
milliseconds of CPU one request cost in each, and what rate the cores allow at
that cost.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

LOAD_GENERATOR = "load generator"
# Server processes found by name, whoever started them.
BY_NAME = {"beam.smp": "RabbitMQ", "postgres": "PostgreSQL"}
_BACKEND = re.compile(r"postgres: (?:\S+: )?\S+ (\S+) (?:\[local\]|\S*\(\d+\))")


def _command_label(cmdline: list[str]) -> str | None:
    """``crm serve gateway`` is "gateway", ``python -m bench.kombu_echo`` is "kombu_echo"."""
    if "-m" in cmdline:
        module_at = cmdline.index("-m") + 1
        module = cmdline[module_at] if module_at < len(cmdline) else ""
        if module == "cli":
            if "serve" in cmdline:
                serve_at = cmdline.index("serve") + 1
                return cmdline[serve_at] if serve_at < len(cmdline) else None
            if "sandbox" in cmdline:
                return "sandbox"
            return None  # `crm run` itself only waits
        if module == "services.mailin.smtp":  # `crm serve mailin-smtp` runs it in its own interpreter
            return "mailin-smtp"
        if module.startswith("bench."):
            extra = [arg for arg in cmdline[module_at + 1 :] if arg.isalpha()]
            return " ".join([module.removeprefix("bench."), *extra[:1]])
    return None


def _backend_database(cmdline: list[str]) -> str | None:
    """The database a PostgreSQL backend serves (``postgres: 15/main: user db 127.0.0.1(5432) idle``)."""
    match = _BACKEND.match(" ".join(cmdline))
    return match.group(1) if match else None


def _serving(roots: set[int], database: str | None = None) -> Iterator[tuple[psutil.Process, str]]:
    """Every process that serves the benchmark, with its label.

    With ``database``, PostgreSQL's backends serving other databases (other people's tests on a shared
    machine) are left out; its background processes (writers, checkpointer) still count.
    """
    me = os.getpid()
    for process in psutil.process_iter(["name", "cmdline", "cpu_times", "memory_info", "ppid"]):
        info = process.info
        if process.pid == me:
            yield process, LOAD_GENERATOR
        elif info["name"] in BY_NAME:
            serves = _backend_database(info["cmdline"] or []) if database else None
            if serves is None or serves == database:
                yield process, BY_NAME[info["name"]]
        else:
            label = _command_label(info["cmdline"] or [])
            if label is not None and _descends_from(process, roots):
                yield process, label


def _snapshot(roots: set[int], database: str | None = None) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process that serves the benchmark, by pid."""
    seen: dict[int, tuple[str, float]] = {}
    for process, label in _serving(roots, database):
        times = process.info["cpu_times"]
        if times is not None:
            seen[process.pid] = (label, times.user + times.system)
    return seen


def resident_memory(roots: set[int], database: str | None = None) -> dict[str, int]:
    """Resident set size in bytes by process label, several processes of one label summed.

    PostgreSQL's backends each count the shared buffers they touched, so its sum overstates it.
    """
    resident: dict[str, int] = defaultdict(int)
    for process, label in _serving(roots, database):
        memory = process.info["memory_info"]
        if memory is not None:
            resident[label] += memory.rss
    return dict(resident)


def _descends_from(process: psutil.Process, roots: set[int]) -> bool:
    try:
        return process.pid in roots or any(parent.pid in roots for parent in process.parents())
    except psutil.Error:
        return False


@dataclass
class CpuMeter:
    """``with CpuMeter(roots) as meter: ...``; then ``meter.seconds`` by process label.

    ``roots`` are the pids whose descendants count (the benchmark's own
    children); RabbitMQ and PostgreSQL count wherever they run.
    """

    roots: set[int]
    database: str | None = None  # count only the PostgreSQL backends serving this database
    seconds: dict[str, float] = field(default_factory=dict)

    def __enter__(self) -> CpuMeter:
        self._before = _snapshot(self.roots, self.database)
        self._paused: dict[str, float] = defaultdict(float)
        return self

    def pause(self) -> None:
        """What is spent until ``resume`` is left out (the benchmark's own work between requests)."""
        self._paused_at = _snapshot(self.roots, self.database)

    def resume(self) -> None:
        for label, seconds in _spent(self._paused_at, _snapshot(self.roots, self.database)).items():
            self._paused[label] += seconds

    def __exit__(self, *exc_info: object) -> None:
        spent = _spent(self._before, _snapshot(self.roots, self.database))
        self.seconds = {label: seconds - self._paused.get(label, 0.0) for label, seconds in spent.items()}


def _spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds by label between two snapshots; a process born between them counts from zero."""
    spent: dict[str, float] = defaultdict(float)
    for pid, (label, seconds) in after.items():
        spent[label] += seconds - before.get(pid, (label, 0.0))[1]
    return spent


@dataclass
class CpuRow:
    name: str
    requests: int
    seconds: dict[str, float]

    def ms_per_request(self) -> dict[str, float]:
        return {label: seconds * 1000 / self.requests for label, seconds in self.seconds.items()}


def format_cpu_table(rows: list[CpuRow], unit: str = "request", cores: int | None = None) -> str:
    """Milliseconds of CPU per ``unit`` by process, and the rate the cores allow at that cost."""
    cores = cores or os.cpu_count() or 1
    lines = [
        f"| measurement | CPU ms per {unit}, by process | total ms | {cores} cores allow at most |",
        "|---|---|---:|---:|",
    ]
    for row in rows:
        costs = row.ms_per_request()
        total = sum(costs.values())
        largest_first = sorted(costs.items(), key=lambda item: -item[1])
        shown = ", ".join(f"{label} {ms:.2f}" for label, ms in largest_first if ms >= 0.005)
        bound = f"{cores * 1000 / total:,.0f}/s" if total > 0 else "-"
        lines.append(f"| {row.name} | {shown} | {total:.2f} | {bound} |")
    return "\n".join(lines)
