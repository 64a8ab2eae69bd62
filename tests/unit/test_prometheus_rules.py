"""The alert rules of deploy/prometheus/ pass their unit tests under promtool, Prometheus' own
rule evaluator, and every alert has a test that fires it and one that keeps it quiet."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool() -> str:
    """promtool's path; a skip on a laptop without it, a failure in CI (.ci/run installs it)."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return path


def alert_names() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_rules_pass_their_promtool_unit_tests():
    result = subprocess.run(
        [promtool(), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_the_configuration_and_its_rules_are_valid():
    result = subprocess.run(
        [promtool(), "check", "config", str(PROMETHEUS / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(alert_names())} rules found" in result.stdout


def test_every_alert_is_tested_firing_and_quiet():
    firing, quiet = set(), set()
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["../alerts.yml"], path.name
        for test in document["tests"]:
            for check in test.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])

    names = alert_names()
    assert len(names) == len(set(names)), "two alerts share a name"
    assert set(names) - firing == set(), "alerts no test fires"
    assert set(names) - quiet == set(), "alerts no test shows quiet"
    assert (firing | quiet) - set(names) == set(), "tests of alerts that do not exist"


def test_every_alert_says_what_happened_and_what_to_do():
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 100, rule["alert"]
