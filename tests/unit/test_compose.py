"""compose.yaml is valid to Docker Compose itself, runs every CRM process with a health check
that means ready, has no default password, scales its stateless processes, and every CRM
process it runs is scraped; the configuration its containers read (deploy/crm/crm.compose.yaml) is
valid settings, live by default, and refuses the sandbox's secrets when live."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cli.published_defaults import published_defaults
from crm.settings import RUNNABLE_SERVICES, parse_settings

ROOT = Path(__file__).resolve().parents[2]
# The passwords compose.yaml requires; values for the check only (they protect nothing).
REQUIRED = {
    "CRM_RABBITMQ_PASSWORD": "ci-rabbitmq-4b1d",
    "CRM_POSTGRES_PASSWORD": "ci-postgres-9e2a",
    "CRM_KEY_PASSPHRASE": "ci key passphrase",
    "GRAFANA_ADMIN_PASSWORD": "ci-grafana-77f0",
}
CRM_PROCESSES = sorted([*RUNNABLE_SERVICES, "mailin-smtp"])


def compose_command() -> list[str]:
    """`docker compose` where the plugin is, else Debian's `docker-compose` (v1); a skip on a
    laptop with neither, a failure in CI (.ci/run installs docker-compose)."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    v1 = shutil.which("docker-compose")
    if v1 is not None:
        return [v1]
    if os.environ.get("CI") == "true":
        pytest.fail("neither `docker compose` nor `docker-compose` in CI: .ci/run installs docker-compose")
    pytest.skip("Docker Compose is not installed (Debian: apt-get install docker-compose)")


def compose_config(environ: dict[str, str]) -> subprocess.CompletedProcess:
    # .env.example as the .env, and a bare environment: a developer's own .env or variables must
    # not make the check pass, and the example must stay in step with the file.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **environ}
    return subprocess.run(
        [
            *compose_command(),
            "--env-file",
            str(ROOT / ".env.example"),
            "-f",
            str(ROOT / "compose.yaml"),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def services() -> dict:
    result = compose_config(REQUIRED)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def crm_containers(services: dict) -> dict:
    return {
        name: service for name, service in services.items() if service.get("image") == "crm-backend:latest"
    }


def mounts(service: dict) -> dict[str, str]:
    """Target: source of a service's volumes, as docker compose (long syntax) or docker-compose
    v1 (``source:target:mode``) renders them."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            found[target] = source
        else:
            found[volume["target"]] = volume["source"]
    return found


def test_docker_compose_accepts_the_file(services):
    assert services


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_each_password_must_be_given_there_is_no_default(variable):
    result = compose_config({name: value for name, value in REQUIRED.items() if name != variable})

    assert result.returncode != 0
    assert f"set {variable} in .env" in result.stderr


def test_every_crm_process_runs_and_is_healthy_only_when_ready(services):
    crm = crm_containers(services)
    serving = {
        name: service["command"]
        for name, service in crm.items()
        if service["command"][:2] == ["crm", "serve"]
    }

    assert sorted(serving) == CRM_PROCESSES
    for name, command in serving.items():
        assert command == ["crm", "serve", name]
        # The gateway's check asks /readyz (every service answers), a service's its ping.
        assert crm[name]["healthcheck"]["test"] == ["CMD", "crm", "health", name]
    assert crm["migrate"]["command"] == ["crm", "migrate"]


def test_the_provider_sandbox_runs_only_in_its_profile_beside_messaging(services):
    sandbox = services["sandbox"]

    assert sandbox["command"] == ["crm", "sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    assert sandbox["network_mode"] == "service:messaging"
    assert [name for name, service in services.items() if "profiles" in service] == ["sandbox"]


def test_stateless_processes_scale_no_fixed_name_or_host_port(services):
    for name, service in crm_containers(services).items():
        assert "container_name" not in service, name
        if name not in ("mailin-smtp", "sandbox"):
            assert "ports" not in service, f"{name} publishes a port: it could not run twice"
    assert "container_name" not in services["edge"]


def test_the_blob_store_is_one_volume_every_crm_process_shares(services):
    for name in CRM_PROCESSES:
        assert mounts(services[name])["/var/lib/crm/var"] == "crm-data", name


def test_every_crm_process_serves_metrics_and_prometheus_scrapes_each(services):
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = prometheus["scrape_configs"]
    # Each compose service's containers, found by Docker's DNS: (job, port) by DNS name.
    discovered = {
        name: (job["job_name"], config["port"])
        for job in jobs
        for config in job.get("dns_sd_configs", [])
        for name in config["names"]
    }

    for name in CRM_PROCESSES:
        port = int(services[name]["environment"]["CRM_METRICS_PORT"])
        assert discovered.get(name) == (name, port), f"Prometheus does not scrape {name} on {port}"
    assert {"rabbitmq", "postgresql"} <= {job["job_name"] for job in jobs}


def test_rabbitmq_runs_its_prometheus_plugin(services):
    plugins = (ROOT / "deploy" / "rabbitmq" / "enabled_plugins").read_text()

    assert "rabbitmq_prometheus" in plugins
    assert mounts(services["rabbitmq"])["/etc/rabbitmq/enabled_plugins"].endswith(
        "deploy/rabbitmq/enabled_plugins"
    )


def container_settings(services: dict, **environ: str):
    """The settings a CRM container reads: deploy/crm/crm.compose.yaml in the environment compose gives it."""
    environment = {key: str(value) for key, value in services["contacts"]["environment"].items()}
    return parse_settings(
        (ROOT / "deploy" / "crm" / "crm.compose.yaml").read_text(), {**environment, **environ}
    )


def test_containers_run_live_by_default_and_refuse_the_sandbox_s_webhook_secrets(services):
    settings = container_settings(services)

    assert settings.messaging.sandbox is False
    assert settings.metrics.host == "0.0.0.0" and settings.gateway.host == "0.0.0.0"
    assert settings.amqp_uri == "amqp://crm:ci-rabbitmq-4b1d@rabbitmq:5672/"
    assert [line.split(":")[0] for line in published_defaults(settings)] == [
        "messaging.twilio.auth_token",
        "messaging.mailjet.webhook_password",
    ]


def test_containers_start_live_once_the_provider_secrets_are_set(services):
    settings = container_settings(
        services, TWILIO_AUTH_TOKEN="f3a9c1d2e4b5", MAILJET_WEBHOOK_PASSWORD="ruelle-aux-lilas"
    )

    assert published_defaults(settings) == []


def test_containers_in_sandbox_mode_keep_the_sandbox_s_secrets(services):
    settings = container_settings(services, CRM_SANDBOX="true", CRM_WEBHOOK_BASE_URL="http://gateway:8000")

    assert settings.messaging.sandbox is True
    assert settings.webhook_base_url() == "http://gateway:8000"
    assert published_defaults(settings) == []
