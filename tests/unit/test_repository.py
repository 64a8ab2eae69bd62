"""The repository stands on its own and keeps a deployment's secrets out of it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_a_deployment_s_crm_yaml_is_ignored_by_git():
    assert "crm.yaml" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_readme_links_only_to_files_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)

    assert "../" not in readme
    assert "docs/design.md" in links
    assert [link for link in links if "://" not in link and not (ROOT / link).exists()] == []


def test_the_readme_lists_the_sandbox_port_among_the_keys_most_often_set():
    assert "| `messaging.sandbox_port` | `8025` |" in (ROOT / "README.md").read_text()


def test_compose_publishes_the_broker_and_the_database_on_this_machine_for_make_run():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    readme = (ROOT / "README.md").read_text()

    assert "127.0.0.1:${CRM_RABBITMQ_PORT:-5672}:5672" in services["rabbitmq"]["ports"]
    assert "127.0.0.1:${CRM_POSTGRES_PORT:-5432}:5432" in services["postgres"]["ports"]
    assert services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"] == "${CRM_RABBITMQ_USER:-crm}"
    assert "AMQP_URI=amqp://crm:<CRM_RABBITMQ_PASSWORD>@127.0.0.1:5672/" in readme
