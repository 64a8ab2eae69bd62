"""The ``crm`` command: run, serve, migrate, admin bootstrap and unknown-provider-events, contacts import."""

import warnings

# eventlet warns on import that it is in maintenance mode; nameko 2 needs it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402
from eventlet.event import Event  # noqa: E402

eventlet.monkey_patch()  # before anything opens a socket or starts a thread

import gc  # noqa: E402
import getpass  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from crm.contacts_cli import contacts  # noqa: E402
from crm.settings import RUNNABLE_SERVICES, Settings, SettingsError, load_settings  # noqa: E402

SERVICE_CLASSES = {
    "accounts": "services.accounts.service:AccountsService",
    "gateway": "services.gateway.service:GatewayService",
    "contacts": "services.contacts.service:ContactsService",
    "messaging": "services.messaging.service:MessagingService",
    "interactions": "services.interactions.service:InteractionsService",
    "notifier": "services.notifier.service:NotifierService",
}


class Unreachable(click.ClickException):
    """A server we need is down: one line saying what and how to start it."""

    def show(self, file: Any = None) -> None:
        click.echo(f"crm: {self.message}", err=True)


def service_class(name: str) -> type:
    module_name, class_name = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def check_broker(settings: Settings) -> None:
    from kombu import Connection

    try:
        with Connection(settings.amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        raise Unreachable(
            f"cannot reach RabbitMQ at {_safe_url(settings.amqp_uri)} ({exc}). "
            "Start it with `rabbitmq-server -detached` or `docker compose up -d rabbitmq`, "
            "or point AMQP_URI at a running broker."
        ) from None


def check_database(settings: Settings, service: str) -> None:
    from sqlalchemy import text

    from crm.database import create_service_engine

    engine = create_service_engine(settings, service)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise Unreachable(
            f"cannot reach the {service} database at {_safe_url(settings.database_url(service))} "
            f"({reason}). Start PostgreSQL (`pg_ctlcluster <version> main start` or "
            "`docker compose up -d postgres`) or set CRM_DATABASE_URL."
        ) from None
    finally:
        engine.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _configure_logging(settings: Settings, process: str) -> None:
    from crm.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, process)


def _migrate(settings: Settings, services: list[str]) -> None:
    from crm.migrations import has_migrations, upgrade

    for service in services:
        if has_migrations(service):
            check_database(settings, service)
            upgrade(settings, service)


@click.group()
@click.option("--config", "-c", envvar="CRM_CONFIG", help="YAML configuration file.")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """The CRM back end."""
    ctx.obj = config


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def migrate(config: str | None, services: tuple[str, ...]) -> None:
    """Apply database migrations (all services, or the ones named)."""
    settings = _settings(config)
    from crm.migrations import has_migrations

    chosen = [s for s in (list(services) or settings.services) if has_migrations(s)]
    _migrate(settings, chosen)
    click.echo(f"migrated: {', '.join(chosen) or 'nothing to migrate'}")


@main.command()
@click.pass_obj
def sandbox(config: str | None) -> None:
    """Run the provider sandbox: local emulations of Twilio, SendGrid and Mailjet.

    It listens on messaging.sandbox_port and posts signed delivery events to the
    gateway's webhooks. `crm run` starts it when messaging.sandbox is true.
    """

    from services.messaging.sandbox_mode import sandbox_for

    settings = _settings(config)
    _configure_logging(settings, "sandbox")
    emulation = sandbox_for(settings)
    url = emulation.serve("127.0.0.1", settings.messaging.sandbox_port)
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


@main.command()
@click.argument("service", type=click.Choice(sorted(SERVICE_CLASSES)))
@click.pass_obj
def serve(config: str | None, service: str) -> None:
    """Run one service (several processes of a service share its queue)."""
    from nameko.runners import ServiceRunner

    settings = _settings(config)
    _configure_logging(settings, service)
    check_broker(settings)
    if service != "gateway":
        check_database(settings, service)
    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(service_class(service))

    stopping = Event()

    def shutdown(signum: int, frame: Any) -> None:
        # Once: Ctrl-C reaches every process of the terminal's group and `crm run` then
        # sends SIGTERM too; a second stop breaks nameko's timers and hangs the process.
        if not stopping.ready():
            stopping.send()
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    quiet_collector()
    runner.wait()


@main.command()
@click.pass_obj
def run(config: str | None) -> None:
    """Run every service and the gateway on this machine."""
    settings = _settings(config)
    check_broker(settings)
    services = [s for s in settings.services if s in RUNNABLE_SERVICES]
    _migrate(settings, services)
    env = dict(os.environ)
    if config:
        env["CRM_CONFIG"] = config
    children = {
        name: subprocess.Popen([sys.executable, "-m", "crm", "serve", name], env=env) for name in services
    }
    if "messaging" in services and settings.messaging.sandbox:
        children["sandbox"] = subprocess.Popen([sys.executable, "-m", "crm", "sandbox"], env=env)
    url = settings.gateway.public_url or f"http://{settings.gateway.host}:{settings.gateway.port}"
    click.echo(f"CRM running: {', '.join(services)}")
    click.echo(f"  API      {url}/api/v1   (docs: {url}/docs, ready: {url}/readyz)")
    if "messaging" in services and settings.messaging.sandbox:
        sandbox = f"http://127.0.0.1:{settings.messaging.sandbox_port}"
        click.echo(
            f"  SANDBOX  SMS and e-mail go to the local provider emulation at {sandbox} "
            f"(nothing leaves this machine; sent messages: {sandbox}/_sandbox/messages)"
        )
    click.echo("  First admin:  crm admin bootstrap --org 'My Company' --email you@example.com")
    click.echo(
        f"  Log in:       curl -X POST {url}/api/v1/auth/login -H 'Content-Type: application/json' "
        '-d \'{"email": "you@example.com", "password": "..."}\''
    )
    click.echo("Press Ctrl-C to stop.")
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    click.echo(f"crm: service {name} exited with status {child.returncode}", err=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    if any(child.returncode not in (0, -signal.SIGTERM) for child in children.values()):
        sys.exit(1)


@main.group()
def admin() -> None:
    """Administration commands."""


@admin.command()
@click.option("--org", "org_name", required=True, help="Name of the organisation.")
@click.option("--email", required=True, help="E-mail of the first admin.")
@click.option("--name", default=None, help="Name of the first admin (defaults to the e-mail).")
@click.option(
    "--password",
    envvar="CRM_ADMIN_PASSWORD",
    default=None,
    help="Password (asked for when not given; or set CRM_ADMIN_PASSWORD).",
)
@click.option("--time-zone", default="UTC", show_default=True)
@click.pass_obj
def bootstrap(
    config: str | None,
    org_name: str,
    email: str,
    name: str | None,
    password: str | None,
    time_zone: str,
) -> None:
    """Create the first organisation and its admin."""
    from sqlalchemy.orm import Session

    from crm.database import UnitOfWork, create_service_engine
    from crm.errors import CrmError
    from crm.validation import validate
    from services.accounts import users
    from services.accounts.schemas import Bootstrap

    settings = _settings(config)
    if password is None:
        password = getpass.getpass("Password for the admin (10 characters or more): ")
    _migrate(settings, ["accounts"])
    engine = create_service_engine(settings, "accounts")
    try:
        request = validate(
            Bootstrap,
            {
                "org_name": org_name,
                "email": email,
                "name": name or email,
                "password": password,
                "time_zone": time_zone,
            },
        )
        with Session(engine, expire_on_commit=False) as session:
            uow = UnitOfWork(session)
            org, user = users.bootstrap(uow, request)
            uow.write_events()
            session.commit()
    except CrmError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()
    click.echo(f"organisation {org.name} ({org.id}) created; admin {user.email} ({user.id})")


@admin.command("unknown-provider-events")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
def unknown_provider_events(config: str | None, limit: int) -> None:
    """Provider events that name no message we sent, latest first (kept for inspection)."""
    from sqlalchemy.orm import Session

    from crm.database import create_service_engine
    from crm.times import iso
    from services.messaging import provider_events

    settings = _settings(config)
    _migrate(settings, ["messaging"])
    engine = create_service_engine(settings, "messaging")
    try:
        with Session(engine) as session:
            found = provider_events.unknown_message_events(session, limit)
    finally:
        engine.dispose()
    if not found:
        click.echo("no provider event names an unknown message")
        return
    for event in found:
        click.echo(
            f"{iso(event.received_at)}  {event.provider} {event.status}  event {event.provider_event_id}  "
            f"ours {event.message_id or '-'}  theirs {event.provider_message_id or '-'}  "
            f"to {event.recipient or '-'}"
        )
    click.echo(f"{len(found)} shown, latest first")


main.add_command(contacts)


if __name__ == "__main__":
    main()
