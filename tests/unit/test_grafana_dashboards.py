"""The Grafana dashboards provisioned from deploy/grafana/ hold together: the two an admin
uses are there, every query goes to the provisioned Prometheus and falls back to 0, and no
variable can be empty. tests/e2e/test_prometheus.py runs every query on a real Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# The fallbacks that make a panel show 0 rather than "No data" when nothing happened: the second
# for grouped queries (it adds its 0 only when the query has no series at all).
FALLBACKS = (" or vector(0)", " or on() vector(0)")


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def panels(dashboard: dict) -> list[dict]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def test_the_business_and_operations_dashboards_are_provisioned():
    titles = sorted(board["title"] for board in dashboards().values())
    uids = [board["uid"] for board in dashboards().values()]

    assert titles == ["CRM business", "CRM operations"]
    assert len(uids) == len(set(uids))
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "crm.yml").read_text())["providers"][
        0
    ]
    assert provider["type"] == "file" and provider["options"]["path"] == "/etc/grafana/dashboards"


def test_every_query_goes_to_the_provisioned_prometheus_and_falls_back_to_zero():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for name, board in dashboards().items():
        for panel in panels(board):
            assert panel["datasource"]["uid"] == uid, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid, (name, panel["title"])
                assert target["expr"].endswith(FALLBACKS), (name, panel["title"], target["expr"])


def test_no_variable_can_be_empty():
    for name, board in dashboards().items():
        for variable in board["templating"]["list"]:
            # A query variable is empty until its metric has a series; a custom list never is.
            assert variable["type"] == "custom", (name, variable["name"])
            assert variable["query"].split(","), (name, variable["name"])
            assert variable["includeAll"] and variable["current"]["value"] == ["$__all"], (
                name,
                variable["name"],
            )
            assert variable["allValue"] == ".+", (name, variable["name"])


def test_panels_do_not_overlap_and_ids_are_unique():
    for name, board in dashboards().items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), name
        taken: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (name, panel["title"])
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, (name, panel["title"])
            taken |= cells
