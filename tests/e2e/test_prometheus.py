"""A real Prometheus scrapes the system of the e2e tests as deploy/prometheus/prometheus.yml
describes it (every process of `crm run` on its own metrics port, RabbitMQ's rabbitmq_prometheus
plugin, postgres_exporter), and every dashboard query and every alert expression is valid there,
names metrics that have series, and every panel shows a value rather than "No data", also once
an exporter is down.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import smtplib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import requests

from crm.database import is_postgresql
from tests.e2e.conftest import System, create_user, free_port, unique
from tests.e2e.prometheus_server import (
    Daemon,
    Prometheus,
    alert_expressions,
    binary,
    dashboard_queries,
    local_config,
    metric_names,
)

pytestmark = pytest.mark.e2e

V1 = "/api/v1"
RABBITMQ_METRICS_PORT = 15692
# Metrics the dashboards or alerts use that only exist once something happened which this test
# does not make happen. Keep it short: every other name must have a series.
NOT_MADE_HERE: dict[str, str] = {}  # name -> what it would take
# Grafana's built-in variables, as the dashboards' queries use them.
GRAFANA_BUILT_INS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def metrics_ports(system: System) -> dict[str, list[int]]:
    """Process name -> its metrics ports, from `crm run`'s METRICS line."""
    log = system.log_path.read_text()
    match = re.search(r"METRICS\s+http://\S+/metrics: (.+)", log)
    assert match, f"`crm run` printed no METRICS line:\n{log}"
    ports: dict[str, list[int]] = {}
    for entry in match.group(1).split(", "):
        name, port = entry.rsplit(" ", 1)
        ports.setdefault(name, []).append(int(port))
    return ports


def rabbitmq_metrics_on(amqp_uri: str) -> None:
    """RabbitMQ's Prometheus endpoint answers, its plugin enabled here when the broker is local."""
    host = urlsplit(amqp_uri).hostname or "127.0.0.1"
    url = f"http://{host}:{RABBITMQ_METRICS_PORT}/metrics"
    for attempt in range(40):
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if attempt == 0 and shutil.which("rabbitmq-plugins"):
                subprocess.run(
                    ["rabbitmq-plugins", "enable", "rabbitmq_prometheus"], capture_output=True, timeout=60
                )
            time.sleep(0.25)
    pytest.fail(
        f"RabbitMQ's Prometheus endpoint {url} does not answer: rabbitmq-plugins enable rabbitmq_prometheus"
    )


@pytest.fixture
def on_postgresql(system: System) -> str:
    """The system's database URL: postgres_exporter needs PostgreSQL."""
    url = system.settings.database.url
    if not is_postgresql(url):
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs the tests on PostgreSQL (TEST_DATABASE_URL)")
        pytest.skip("postgres_exporter needs the system on PostgreSQL: set TEST_DATABASE_URL")
    return url


def drive_traffic(system: System) -> None:
    """A little of everything the dashboards count: logins (one wrong), records, a user and its
    events, SMS credits and an SMS, an e-mail, a CSV import, a phone's sync with a refused push,
    mail over SMTP, and answers of the 4xx kind."""
    _, email = system.bootstrap_org()
    assert (
        system.anonymous().post(f"{V1}/auth/login", json={"email": email, "password": "wrong"}).status_code
        == 401
    )
    admin = system.login(email)
    assert admin.get(f"{V1}/contacts/{unique('absent')}").status_code == 404
    assert admin.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}).status_code == 201
    assert (
        admin.post(f"{V1}/contacts", json={"first_name": "Jeanne", "last_name": "Dupont"}).status_code == 201
    )

    member = create_user(admin)
    bought = admin.post(f"{V1}/sms/credits/purchases", json={"credits": 20, "reference": unique("FAC")})
    assert bought.status_code == 201, bought.text
    code = admin.post(f"{V1}/sms/authorization-codes", json={"user_id": member["id"]}).json()["code"]
    bruno = system.login(member["email"])
    sms = {"to": "+33 6 12 34 56 78", "body": "Rendez-vous confirmé demain 9h", "authorization_code": code}
    assert bruno.post(f"{V1}/sms", json=sms).status_code == 201
    email_settings = {
        "provider": "sendgrid",
        "sender_email": "ventes@pomme.fr",
        "sender_name": "Pomme Ventes",
    }
    assert admin.request("PUT", f"{V1}/emails/settings", json=email_settings).status_code == 200
    mail = {"to": {"email": "jeanne@clients.example"}, "subject": "Votre devis", "html": "<p>Bonjour</p>"}
    assert bruno.post(f"{V1}/emails", json=mail).status_code == 201

    rows = "Nom;Prénom;Email\r\nDupont;Jeanne;jeanne.dupont@clients.example\r\n;;pas-une-adresse\r\n"
    upload = {"file_name": "clients.csv", "content_base64": base64.b64encode(rows.encode()).decode()}
    assert admin.post(f"{V1}/imports", json=upload).status_code == 202

    claire = system.login(create_user(admin, name="Claire Morel", read_only=True)["email"])
    phone = {"X-Device-Id": "android-claire"}
    pulled = claire.get(f"{V1}/sync/pull", params={"last_pulled_at": "null"}, headers=phone)
    assert pulled.status_code == 200, pulled.text
    offline = {"created": [{"id": "claireoffline001", "first_name": "Hugo"}], "updated": [], "deleted": []}
    push = {"changes": {"contacts": offline}, "last_pulled_at": pulled.json()["timestamp"]}
    pushed = claire.post(f"{V1}/sync/push", json=push, headers=phone)
    assert pushed.status_code == 200 and pushed.json()["rejected"], pushed.text

    message = EmailMessage()
    message["From"], message["Subject"] = "jeanne@clients.example", "Re: Votre devis"
    message.set_content("Merci, c'est d'accord.\n")
    address = bruno.get(f"{V1}/me/secrets").json()["ingest_address"]
    with smtplib.SMTP("127.0.0.1", system.settings.mailin.smtp_port, timeout=10) as client:
        client.send_message(message, to_addrs=[address])


def wait_for_scrapes(prometheus: Prometheus, wanted: set[str], timeout: float = 20) -> None:
    """Until every target was scraped a few times and the ``wanted`` names exist (or time is up:
    the assertions then say what is missing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scraped = prometheus.query("min(count_over_time(up[1m])) >= 2 and min(up) == 1")
        if scraped and not wanted - prometheus.names():
            return
        time.sleep(0.5)


@dataclass
class Monitoring:
    prometheus: Prometheus
    postgres_exporter: Daemon


@pytest.fixture
def monitoring(system: System, on_postgresql: str, tmp_path) -> Iterator[Monitoring]:
    """Prometheus with deploy/'s configuration and rules, scraping the system, RabbitMQ and a
    postgres_exporter of this test; started once traffic went through, so that its first scrapes
    see the figures read from the databases."""
    rabbitmq_metrics_on(system.settings.amqp_uri)
    drive_traffic(system)
    exporter_port, prometheus_port = free_port(), free_port()
    exporter = Daemon(
        [
            binary("prometheus-postgres-exporter", "prometheus-postgres-exporter"),
            f"--web.listen-address=127.0.0.1:{exporter_port}",
        ],
        tmp_path / "postgres-exporter.log",
        env={"DATA_SOURCE_NAME": f"{on_postgresql}?sslmode=disable"},
    )
    server = None
    try:
        exporter.wait_until(f"http://127.0.0.1:{exporter_port}/metrics")
        targets = {
            name: [f"127.0.0.1:{port}" for port in each] for name, each in metrics_ports(system).items()
        }
        targets["rabbitmq"] = [f"{urlsplit(system.settings.amqp_uri).hostname}:{RABBITMQ_METRICS_PORT}"]
        targets["postgresql"] = [f"127.0.0.1:{exporter_port}"]
        server = Prometheus(tmp_path / "prometheus", local_config(targets, prometheus_port), prometheus_port)
        yield Monitoring(server, exporter)
    finally:
        if server is not None:
            server.stop()
        exporter.stop()


def panels_without_data(prometheus: Prometheus, queries: list[tuple[str, str, str]]) -> list[str]:
    """What is wrong with each query that is invalid or has no result: what Grafana shows as an
    error or as "No data"."""
    failures = []
    for board, panel, expr in queries:
        try:
            if not prometheus.query(expr):
                failures.append(f"{board} / {panel}: No data: {expr}")
        except AssertionError as error:
            failures.append(f"{board} / {panel}: {error}: {expr}")
    return failures


def test_every_dashboard_query_and_alert_expression_works_on_the_real_metrics(monitoring):
    prometheus = monitoring.prometheus
    queries = dashboard_queries(GRAFANA_BUILT_INS)
    alerts = alert_expressions()
    used = set().union(*(metric_names(expr) for *_, expr in queries), *(metric_names(e) for _, e in alerts))
    # What the name extraction finds is what the dashboards and rules read, and nothing else.
    assert {name.split("_")[0] for name in used} == {"crm", "rabbitmq", "pg", "process", "up"}, used
    assert set(NOT_MADE_HERE) <= used, "an exemption for a metric nothing uses any more"
    wait_for_scrapes(prometheus, used - set(NOT_MADE_HERE))

    targets = prometheus.api("targets")["activeTargets"]
    down = [(t["labels"]["job"], t["scrapeUrl"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, f"targets not scraped: {down}"
    missing = sorted(used - prometheus.names() - set(NOT_MADE_HERE))
    assert not missing, f"metrics the dashboards or alerts use that have no series: {missing}"

    failures = panels_without_data(prometheus, queries)
    for name, expr in alerts:
        try:
            prometheus.query(expr)
        except AssertionError as error:
            failures.append(f"alert {name}: {error}")
    assert not failures, "\n".join(failures)

    # Prometheus evaluates the rules every second here: each has run, none with an error.
    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    assert sorted(rule["name"] for rule in rules if rule["type"] == "alerting") == sorted(
        n for n, _ in alerts
    )
    assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []

    # An exporter that goes down: its panels show 0, no panel goes empty.
    monitoring.postgres_exporter.stop()
    deadline = time.monotonic() + 15
    while not prometheus.query('up{job="postgresql"} == 0') and time.monotonic() < deadline:
        time.sleep(0.5)
    assert prometheus.query('up{job="postgresql"} == 0'), "the stopped exporter is still scraped"
    assert panels_without_data(prometheus, queries) == []
    assert [sample["value"][1] for sample in prometheus.query("(min(pg_up)) or vector(0)")] == ["0"]
