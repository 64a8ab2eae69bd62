"""``crm health PROCESS``: exit 0 when the process kind is ready to work, else one line and 1.

Made for container health checks (compose.yaml): a service is ready when it answers its
``ping`` over RabbitMQ (it consumes its queue and knows which accesses were revoked), the
gateway when its ``/readyz`` says so (every service answers), the SMTP listener when it
greets a client.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from typing import Any

import click

from cli.startup import settings_from
from crm.settings import RUNNABLE_SERVICES, Settings

PROCESSES = sorted([*RUNNABLE_SERVICES, "mailin-smtp"])


def local_address(host: str) -> str:
    """Where a client on this machine reaches a server listening on ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def service_state(settings: Settings, service: str, timeout: float) -> str:
    """``ok``, or why not: the service's answer to ``ping``, or what kept it from answering."""
    import eventlet
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with eventlet.Timeout(timeout):
            with ClusterRpcProxy(settings.nameko_config(), timeout=timeout) as cluster:
                return getattr(cluster, service).ping()["status"]
    except eventlet.Timeout:
        return f"no answer to ping within {timeout:g} s"
    except Exception as exc:  # broker down or refusing us
        return f"unreachable: {type(exc).__name__}: {exc}"[:200]


def gateway_state(settings: Settings, timeout: float) -> str:
    """``ok`` when the gateway's ``/readyz`` answers ready, else what it says is missing."""
    url = f"http://{local_address(settings.gateway.host)}:{settings.gateway.port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            answer: Any = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            answer = json.load(error)
        except ValueError:
            return f"{url} answered {error.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"
    if answer.get("status") == "ready":
        return "ok"
    waiting = {name: state for name, state in answer.get("services", {}).items() if state != "ok"}
    return f"not ready: {waiting}"


def smtp_state(settings: Settings, timeout: float) -> str:
    """``ok`` when the SMTP listener greets and answers NOOP."""
    mailin = settings.mailin
    host = local_address(mailin.smtp_host)
    try:
        with smtplib.SMTP(host, mailin.smtp_port, timeout=timeout) as client:
            code, _ = client.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return f"SMTP at {host}:{mailin.smtp_port}: {exc}"
    return "ok" if code == 250 else f"SMTP at {host}:{mailin.smtp_port} answered NOOP with {code}"


@click.command()
@click.argument("process", type=click.Choice(PROCESSES))
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the answer.")
@click.pass_obj
def health(config: str | None, process: str, timeout: float) -> None:
    """Exit 0 when PROCESS is ready: a service answers its ping over RabbitMQ, the gateway's
    /readyz says ready, the SMTP listener (mailin-smtp) greets. For container health checks."""
    settings = settings_from(config)
    if process == "gateway":
        state = gateway_state(settings, timeout)
    elif process == "mailin-smtp":
        state = smtp_state(settings, timeout)
    else:
        state = service_state(settings, process, timeout)
    if state != "ok":
        click.echo(f"crm: {process} is not ready: {state}", err=True)
        raise SystemExit(1)
    click.echo(f"{process}: ready")
