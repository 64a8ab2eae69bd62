"""The ``crm`` command (``python -m cli``): run, serve, migrate, sandbox, health; ``admin`` and
``contacts`` groups.

The composition root: the one place that names every service and the provider sandbox.
"""

import warnings

# eventlet warns on import that it is in maintenance mode; nameko 2 needs it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402
from eventlet.event import Event  # noqa: E402

eventlet.monkey_patch()  # before anything opens a socket or starts a thread

import errno  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from cli.admin import admin  # noqa: E402
from cli.contacts import contacts  # noqa: E402
from cli.health import health  # noqa: E402
from cli.startup import (  # noqa: E402
    Unreachable,
    check_broker,
    check_database,
    configure_logging,
    crm_command,
    migrate_databases,
    refuse_published_defaults,
    settings_from,
)
from crm.metrics.serving import PORT_VARIABLE, metrics_port, ports_of_processes, serve_metrics  # noqa: E402
from crm.settings import RUNNABLE_SERVICES, Settings, SettingsError  # noqa: E402

SERVICE_CLASSES = {
    "accounts": "services.accounts.service:AccountsService",
    "gateway": "services.gateway.service:GatewayService",
    "contacts": "services.contacts.service:ContactsService",
    "messaging": "services.messaging.service:MessagingService",
    "interactions": "services.interactions.service:InteractionsService",
    "notifier": "services.notifier.service:NotifierService",
    "mailin": "services.mailin.service:MailinService",
    "sync": "services.sync.service:SyncService",
}


def service_class(name: str) -> type:
    module_name, class_name = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


@click.group()
@click.version_option(package_name="crm-backend", prog_name="crm")
@click.option("--config", "-c", envvar="CRM_CONFIG", help="YAML configuration file.")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """The CRM back end."""
    ctx.obj = config


@main.command()
@click.argument("services", nargs=-1)
@click.option(
    "--check", is_flag=True, help="Only say whether each database is behind the code (exit 1 if so)."
)
@click.pass_obj
def migrate(config: str | None, services: tuple[str, ...], check: bool) -> None:
    """Apply database migrations (all services, or the ones named)."""
    settings = settings_from(config)
    from crm.migrations import has_migrations

    chosen = [s for s in (list(services) or settings.services) if has_migrations(s)]
    if check:
        check_migrations(settings, chosen)
        return
    migrate_databases(settings, chosen)
    click.echo(f"migrated: {', '.join(chosen) or 'nothing to migrate'}")


def check_migrations(settings: Any, services: list[str]) -> None:
    from crm.migrations import revisions

    behind = []
    for service in services:
        check_database(settings, service)
        current, head = revisions(settings, service)
        if current == head:
            click.echo(f"{service}: up to date ({head})")
        else:
            behind.append(service)
            click.echo(f"{service}: behind (database at {current or 'nothing'}, code at {head})")
    if behind:
        click.echo(f"crm: run `crm migrate` to bring {', '.join(behind)} up to date", err=True)
        sys.exit(1)


@main.command()
@click.pass_obj
def sandbox(config: str | None) -> None:
    """Run the provider sandbox: local emulations of Twilio, SendGrid and Mailjet.

    It listens on messaging.sandbox_port and posts signed delivery events to the
    gateway's webhooks. `crm run` starts it when messaging.sandbox is true.
    """

    from emulations.sandbox_mode import sandbox_for

    settings = settings_from(config)
    configure_logging(settings, "sandbox")
    emulation = sandbox_for(settings)
    port = settings.messaging.sandbox_port
    try:
        url = emulation.serve("127.0.0.1", port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise Unreachable(
            f"port {port} (messaging.sandbox_port) is already in use, perhaps by another `crm run`; "
            "give each system on this machine its own messaging.sandbox_port"
        ) from None
    click.echo(
        f"provider SANDBOX at {url}: Twilio, SendGrid and Mailjet emulations; nothing leaves this machine"
    )
    stopped = Event()

    def shutdown(signum: int, frame: Any) -> None:
        if not stopped.ready():
            stopped.send()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    stopped.wait()
    emulation.stop()


def quiet_collector() -> None:
    """Call once a service has started.

    What start-up loaded stays for the life of the process: keep it out of the collector's
    sight, and collect the young generation less often (answers of hundreds of records
    made the default thresholds run full collections in the middle of requests).
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


# Processes that are not nameko services: run as their own module in a fresh interpreter.
OTHER_PROCESSES = {"mailin-smtp": "services.mailin.smtp"}
# How long a stopping `crm serve` waits for its workers before it kills them.
STOP_GRACE_SECONDS = 10


@main.command()
@click.argument("service", type=click.Choice(sorted([*SERVICE_CLASSES, *OTHER_PROCESSES])))
@click.pass_obj
def serve(config: str | None, service: str) -> None:
    """Run one service (several processes of a service share its queue), or the SMTP listener
    (mailin-smtp)."""
    if service in OTHER_PROCESSES:
        # asyncio, not eventlet: this process has patched its sockets, a fresh one has not.
        arguments = ["-m", OTHER_PROCESSES[service], *(["--config", config] if config else [])]
        os.execv(sys.executable, [sys.executable, *arguments])
    from nameko.runners import ServiceRunner

    settings = settings_from(config)
    refuse_published_defaults(settings)
    configure_logging(settings, service)
    check_broker(settings)
    if service != "gateway":
        check_database(settings, service)
    serve_metrics(settings.metrics.host, metrics_ports(settings, 1)[0])
    runner = ServiceRunner(settings.nameko_config(service))
    runner.add_service(service_class(service))

    stopping = Event()

    def shutdown(signum: int, frame: Any) -> None:
        # Once: Ctrl-C reaches every process of the terminal's group and `crm run` then
        # sends SIGTERM too; a second stop breaks nameko's timers and hangs the process.
        if not stopping.ready():
            stopping.send()
            eventlet.spawn_n(runner.stop)
            # A worker that does not end in time (a handler waiting on a peer that is down) is
            # killed: its message goes back to its queue, to be handled again once we are back.
            eventlet.spawn_after(STOP_GRACE_SECONDS, runner.kill)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    quiet_collector()
    runner.wait()


@main.command()
@click.pass_obj
def run(config: str | None) -> None:
    """Run every service and the gateway on this machine."""
    settings = settings_from(config)
    refuse_published_defaults(settings)
    check_broker(settings)
    services = [s for s in settings.services if s in RUNNABLE_SERVICES]
    migrate_databases(settings, services)
    env = dict(os.environ)
    if config:
        env["CRM_CONFIG"] = config
    # run.processes: several processes of a service are competing consumers of its queue; those
    # of the gateway each bind its port with SO_REUSEPORT (eventlet's listen sets it), and the
    # kernel spreads new connections over them.
    processes = [name for name in services for _ in range(settings.processes_of(name))]
    if "mailin" in services:
        processes.append("mailin-smtp")
    # Each process serves its metrics on a port of its own: metrics.port + i.
    ports = metrics_ports(settings, len(processes))
    children = [
        (
            name,
            subprocess.Popen(
                [sys.executable, "-m", "cli", "serve", name], env={**env, PORT_VARIABLE: str(port)}
            ),
        )
        for name, port in zip(processes, ports, strict=True)
    ]
    if "messaging" in services and settings.messaging.sandbox:
        children.append(("sandbox", subprocess.Popen([sys.executable, "-m", "cli", "sandbox"], env=env)))
    url = settings.gateway.public_url or f"http://{settings.gateway.host}:{settings.gateway.port}"
    shown = [
        f"{name} x{settings.processes_of(name)}" if settings.processes_of(name) > 1 else name
        for name in services
    ]
    click.echo(f"CRM running: {', '.join(shown)}")
    click.echo(f"  API      {url}/api/v1   (docs: {url}/docs, ready: {url}/readyz)")
    if "mailin" in services:
        click.echo(
            f"  MAIL IN  SMTP on {settings.mailin.smtp_host}:{settings.mailin.smtp_port} "
            f"for <ingest address>@{settings.mail.ingest_domain}"
        )
    if "messaging" in services and settings.messaging.sandbox:
        sandbox = f"http://127.0.0.1:{settings.messaging.sandbox_port}"
        click.echo(
            f"  SANDBOX  SMS and e-mail go to the local provider emulation at {sandbox} "
            f"(nothing leaves this machine; sent messages: {sandbox}/_sandbox/messages)"
        )
    script = Path(sys.executable).parent / "crm"
    crm = crm_command(shutil.which("crm"), script, Path.cwd()) if script.exists() else "python -m cli"
    click.echo(f"  First admin:  {crm} admin bootstrap --org 'My Company' --email you@example.com")
    click.echo(
        f"  Log in:       curl -X POST {url}/api/v1/auth/login -H 'Content-Type: application/json' "
        '-d \'{"email": "you@example.com", "password": "..."}\''
    )
    click.echo(f"  METRICS  {metrics_banner(settings.metrics.host, processes, ports)}")
    click.echo("Press Ctrl-C to stop.")
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            for name, child in children:
                if child.poll() is not None:
                    click.echo(f"crm: service {name} exited with status {child.returncode}", err=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        for _, child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    if any(child.returncode not in (0, -signal.SIGTERM) for _, child in children):
        sys.exit(1)


def metrics_ports(settings: Settings, count: int) -> list[int]:
    """The metrics ports of ``count`` processes: metrics.port (or CRM_METRICS_PORT) + i."""
    try:
        return ports_of_processes(metrics_port(settings), count)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def metrics_banner(host: str, processes: list[str], ports: list[int]) -> str:
    """Which process serves its metrics on which port, as `crm run` prints it."""
    if not ports or ports[0] == 0:
        return "not served (metrics.port is 0)"
    each = ", ".join(f"{name} {port}" for name, port in zip(processes, ports, strict=True))
    return f"http://{host}:<port>/metrics: {each}"


main.add_command(admin)
main.add_command(contacts)
main.add_command(health)


if __name__ == "__main__":
    main()
