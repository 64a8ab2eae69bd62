"""A real Prometheus (and postgres_exporter) for the tests, on ports of their own, and what the
tests ask it: the queries of deploy/grafana's dashboards and deploy/prometheus's alert rules.

The Debian packages' services are not used: each test run starts the binaries with a temporary
configuration and storage, and stops them at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))


def binary(name: str, package: str) -> str:
    """The path of a Debian package's binary: a skip on a laptop without it, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing in CI: .ci/run installs Debian's {package} package")
        pytest.skip(f"{name} is not installed (Debian: apt-get install {package})")
    return path


class Daemon:
    """A server started from a binary, its output in a log file, stopped at the end."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                args, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )

    def wait_until(self, url: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args[0]} exited:\n{self.log.read_text()}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer within {timeout:g} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def local_config(targets: dict[str, list[str]], port: int, scrape_seconds: int = 2) -> dict:
    """deploy/prometheus/prometheus.yml with each job's targets replaced by ``targets`` (job ->
    host:port here), scraped every ``scrape_seconds``; its jobs, paths and relabelling are kept.
    Every job of the deployed file must have targets here: nothing it scrapes goes untested."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    targets = {**targets, "prometheus": [f"127.0.0.1:{port}"]}
    missing = sorted(set(jobs) - set(targets))
    assert not missing, f"jobs of prometheus.yml with nothing to scrape here: {missing}"
    config["global"].update(
        scrape_interval=f"{scrape_seconds}s", scrape_timeout=f"{scrape_seconds}s", evaluation_interval="1s"
    )
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / path) for path in config["rule_files"]]
    for job in config["scrape_configs"]:
        for discovery in [key for key in job if key.endswith("_sd_configs")]:
            del job[discovery]
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    return config


class Prometheus(Daemon):
    def __init__(self, folder: Path, config: dict, port: int):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(
            [
                binary("prometheus", "prometheus"),
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            folder / "prometheus.log",
        )
        self.wait_until(f"{self.url}/-/ready")

    def api(self, path: str, **params) -> dict:
        """The ``data`` of an API answer; an error answer raises, naming Prometheus' reason."""
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def names(self) -> set[str]:
        """Every metric name Prometheus holds a series of."""
        return set(self.api("label/__name__/values"))


def dashboard_queries(variables: dict[str, str]) -> list[tuple[str, str, str]]:
    """(dashboard, panel, expression) of every target of every dashboard, with the dashboards'
    variables and Grafana's built-ins replaced by ``variables`` (name -> value)."""
    queries = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        values = {**variables, **{v["name"]: v["allValue"] for v in board["templating"]["list"]}}
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
                    expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
                assert "$" not in expr, f"{board['title']} / {panel['title']}: a variable left in {expr}"
                queries.append((board["title"], panel["title"], expr))
    return queries


def alert_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"] if "alert" in rule]


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NAME = re.compile(r"(?<![\w:.])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan", "by", "without", "on", "ignoring"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (function and label names left out)."""
    bare = _GROUPING.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub(" ", expr))))
    return {name for name in _NAME.findall(bare) if name.lower() not in _KEYWORDS}
