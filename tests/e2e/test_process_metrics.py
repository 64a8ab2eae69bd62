"""`crm serve` serves its process's metrics on its own port, the gateway's /metrics serves the
same registry, and a scrape while the process stops does not crash it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import requests
import yaml

from tests.e2e.conftest import free_port


def _scrape(url: str) -> str | None:
    try:
        response = requests.get(url, timeout=2)
    except requests.RequestException:
        return None
    return response.text if response.status_code == 200 else None


def _wait_for(url: str, process: subprocess.Popen, log, needle: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        text = _scrape(url)
        if text is not None and needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed at {url}:\n{log.read_text()}")


def test_crm_serve_answers_on_its_metrics_port_and_a_scrape_while_stopping_does_no_harm(migrated, tmp_path):
    gateway_port, metrics_port = free_port(), free_port()
    config = tmp_path / "crm.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "amqp_uri": migrated.amqp_uri,
                "data_dir": str(tmp_path / "var"),
                "log_format": "json",
                "database": {"url": migrated.database.url},
                "gateway": {"host": "127.0.0.1", "port": gateway_port},
            }
        )
    )
    log = tmp_path / "gateway.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "--config", str(config), "serve", "gateway"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CRM_METRICS_PORT": str(metrics_port)},
        )
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    scrapes: list[str | None] = []
    try:
        _wait_for(f"http://127.0.0.1:{gateway_port}/healthz", process, log, '"status"')
        counted = 'crm_http_requests_total{method="GET",route="/healthz",status="200"}'
        text = _wait_for(metrics_url, process, log, counted)

        assert 'crm_build_info{version="0.1.0"} 1.0' in text
        assert "process_resident_memory_bytes" in text and "python_gc_objects_collected_total" in text
        # Its ping RPC shows before anyone called it, at 0.
        assert 'crm_rpc_requests_total{method="ping",outcome="ok",service="gateway"}' in text
        # The gateway's own /metrics is the same process registry.
        on_http_port = requests.get(f"http://127.0.0.1:{gateway_port}/metrics", timeout=5).text
        assert "process_resident_memory_bytes" in on_http_port and counted in on_http_port
        assert f"metrics at http://127.0.0.1:{metrics_port}/metrics" in log.read_text()

        def scrape_until_gone() -> None:
            while process.poll() is None:
                scrapes.append(_scrape(metrics_url))

        scraper = threading.Thread(target=scrape_until_gone)
        scraper.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        scraper.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert any(scrapes), "no scrape was answered while the process ran"
