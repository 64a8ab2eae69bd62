"""The capacity benchmark's tables and chart, from what each step's load process measured.

A step is the JSON ``bench.capacity_load`` wrote (request kinds with counts,
percentiles and locust's response-time histogram) plus what ``bench.capacity``
read around it (CPU and memory by process, callbacks and mails handled). The
interactive requests' p99 is computed over their histograms merged, so a step
passes on all the requests people wait for, not on an average of percentiles.
"""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

P99_TARGET_MS = 300.0


def merged_percentile(kinds: list[dict[str, Any]], fraction: float) -> float:
    """The ``fraction`` percentile over the response-time histograms of ``kinds`` merged (ms)."""
    histogram: dict[float, int] = {}
    for kind in kinds:
        for ms, count in kind["response_times"].items():
            histogram[float(ms)] = histogram.get(float(ms), 0) + count
    total = sum(histogram.values())
    if not total:
        return 0.0
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= total * fraction:
            return ms
    return max(histogram)


def interactive_p99(step: dict[str, Any]) -> float:
    return merged_percentile([k for k in step["kinds"] if k["interactive"]], 0.99)


def errors(step: dict[str, Any]) -> int:
    return sum(kind["failures"] for kind in step["kinds"])


def passes(step: dict[str, Any]) -> bool:
    return errors(step) == 0 and interactive_p99(step) <= P99_TARGET_MS


def capacity(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The step with the most users that passed (``failed_below`` says which smaller steps did not)."""
    passing = [step for step in steps if passes(step)]
    return max(passing, key=lambda step: step["users"]) if passing else None


def failed_below(steps: list[dict[str, Any]], users: int) -> list[int]:
    return [step["users"] for step in steps if step["users"] < users and not passes(step)]


def above_idle(step: dict[str, Any], idle: dict[str, Any]) -> dict[str, float]:
    """CPU seconds of each process in ``step`` beyond what it spends with no load (timers, polling)."""
    return {
        label: max(0.0, seconds - idle["cpu"].get(label, 0.0) / idle["seconds"] * step["seconds"])
        for label, seconds in step["cpu"].items()
    }


def summary_table(steps: list[dict[str, Any]]) -> str:
    lines = [
        "| users | office / field / scanners / providers | req/s | interactive p50 ms | interactive p99 ms "
        "| errors | callbacks stored/s | mails processed | passes |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        mix = step["mix"]
        interactive = [k for k in step["kinds"] if k["interactive"]]
        lines.append(
            f"| {step['users']} | {mix['OfficeUser']} / {mix['FieldUser']} / {mix['MailSender']} / "
            f"{mix['ProviderCallbacks']} | {sum(k['per_second'] for k in step['kinds']):.1f} "
            f"| {merged_percentile(interactive, 0.5):.0f} | {interactive_p99(step):.0f} | {errors(step)} "
            f"| {step['callbacks'] / step['seconds']:.1f} | {step['mails']} "
            f"| {'yes' if passes(step) else 'no'} |"
        )
    return "\n".join(lines)


def kinds_table(steps: list[dict[str, Any]]) -> str:
    """Per request kind and step: req/s, p50/p95/p99 (ms), errors."""
    names = sorted({k["name"] for s in steps for k in s["kinds"]}, key=lambda n: (n.startswith("("), n))
    header = " | ".join(f"{s['users']} users: req/s, p50/p95/p99, errors" for s in steps)
    lines = [f"| kind | {header} |", "|---|" + "---|" * len(steps)]
    for name in names:
        cells = []
        for step in steps:
            kind = next((k for k in step["kinds"] if k["name"] == name), None)
            cells.append(
                "-"
                if kind is None
                else f"{kind['per_second']:.2f}, {kind['p50']:.0f}/{kind['p95']:.0f}/{kind['p99']:.0f}, "
                f"{kind['failures']}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cores_table(steps: list[dict[str, Any]]) -> str:
    """Share of one core each process used per step: the process that nears 100 % limits the capacity."""
    last = steps[-1]["cpu"]
    labels = sorted(last, key=lambda label: -last[label])
    lines = ["| users | " + " | ".join(labels) + " |", "|---:|" + "---:|" * len(labels)]
    for step in steps:
        shares = [f"{step['cpu'].get(label, 0.0) / step['seconds']:.0%}" for label in labels]
        lines.append(f"| {step['users'] or 'idle'} | " + " | ".join(shares) + " |")
    return "\n".join(lines)


def memory_table(resident: dict[str, int]) -> str:
    lines = ["| process | RSS MB |", "|---|---:|"]
    for label, size in sorted(resident.items(), key=lambda item: -item[1]):
        lines.append(f"| {label} | {size / 2**20:,.0f} |")
    return "\n".join(lines)


def chart(steps: list[dict[str, Any]], path: str) -> None:
    """A PNG of the interactive p99 (and the slowest interactive kind's) against users, the target dashed."""
    width, height, left, bottom, top, right = 800, 500, 70, 60, 30, 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    users = [s["users"] for s in steps]
    worst = [max((k["p99"] for k in s["kinds"] if k["interactive"]), default=0) for s in steps]
    p99s = [interactive_p99(s) for s in steps]
    y_max = max([P99_TARGET_MS * 1.5, *p99s, *worst])
    x_max = max(users) * 1.1

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + x / x_max * (width - left - right),
            height - bottom - min(y, y_max) / y_max * (height - top - bottom),
        )

    draw.line([at(0, 0), at(x_max, 0)], fill="black")
    draw.line([at(0, 0), at(0, y_max)], fill="black")
    for n in users:
        x, y = at(n, 0)
        draw.line([(x, y), (x, y + 5)], fill="black")
        draw.text((x - 10, y + 8), str(n), fill="black")
    for ms in range(0, int(y_max) + 1, max(50, int(y_max / 8) // 50 * 50)):
        x, y = at(0, ms)
        draw.line([(x - 5, y), (x, y)], fill="black")
        draw.text((x - 45, y - 6), f"{ms} ms", fill="black")
    target = at(0, P99_TARGET_MS)[1]
    for x in range(left, width - right, 12):
        draw.line([(x, target), (x + 6, target)], fill="red")
    draw.text((width - right - 150, target - 16), "target p99 300 ms", fill="red")
    for values, colour, label in ((p99s, "blue", "interactive p99"), (worst, "grey", "slowest kind's p99")):
        points = [at(n, v) for n, v in zip(users, values, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((left + 10, top + (0 if colour == "blue" else 14)), label, fill=colour)
    draw.text((width // 2 - 60, height - 25), "concurrent users", fill="black")
    image.save(path)
