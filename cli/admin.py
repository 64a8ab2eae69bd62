"""``crm admin``: bootstrap the first organisation and admin, inspect unknown provider events.

They work on the services' databases directly, so the command line is the one
place that knows the accounts and messaging modules (the composition root).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from cli.startup import migrate_databases, settings_from


def unplaced_database(config_found: bool, environ: Mapping[str, str], database_url: str) -> Path | None:
    """The SQLite file a command would create here although nothing said where the data is
    (no configuration file, no CRM_DATA_DIR or CRM_DATABASE_URL): run from another folder
    than ``crm run``, it would otherwise write to a database the system never reads."""
    if config_found or "CRM_DATA_DIR" in environ or "CRM_DATABASE_URL" in environ:
        return None
    if not database_url.startswith("sqlite:///"):
        return None
    path = Path(database_url.removeprefix("sqlite:///"))
    return None if path.exists() else path


@click.group()
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

    settings = settings_from(config)
    missing = unplaced_database(
        bool(config) or Path("crm.yaml").exists(), os.environ, settings.database_url("accounts")
    )
    if missing is not None:
        raise click.UsageError(
            f"no crm.yaml here and no accounts database at {missing}: run this from the folder "
            "where `crm run` runs, or give --config (`crm migrate` creates a new database here)"
        )
    if password is None and not sys.stdin.isatty():
        raise click.UsageError(
            "no terminal to ask the password on: give --password or set CRM_ADMIN_PASSWORD "
            "(10 characters or more)"
        )
    if password is None:
        password = getpass.getpass("Password for the admin (10 characters or more): ")
    migrate_databases(settings, ["accounts"])
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

    settings = settings_from(config)
    migrate_databases(settings, ["messaging"])
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


# The services whose event handlers park the events they cannot apply (crm.events).
PARKING_SERVICES = ("interactions", "mailin", "notifier", "sync")


@admin.command("replay-events")
@click.option(
    "--service",
    "services",
    multiple=True,
    type=click.Choice(PARKING_SERVICES),
    help="Only this service's parked events (repeatable; all by default).",
)
@click.option("--list", "list_only", is_flag=True, help="Show the parked events, put nothing back.")
@click.pass_obj
def replay_events(config: str | None, services: tuple[str, ...], list_only: bool) -> None:
    """Put the events a service parked (its handler failed again and again) back on their
    queues, once the cause is mended; each is still applied once."""
    from crm.database import create_service_engine
    from crm.events import parked_events, replay_parked
    from crm.times import iso

    settings = settings_from(config)
    chosen = list(services) or list(PARKING_SERVICES)
    migrate_databases(settings, chosen)
    for service in chosen:
        engine = create_service_engine(settings, service)
        try:
            if list_only:
                for parked in parked_events(engine):
                    click.echo(
                        f"{service}  {iso(parked['parked_at'])}  {parked['queue']}  "
                        f"event {parked['event_id']}  after {parked['attempts']} attempts: {parked['error']}"
                    )
                continue
            replayed, missing = replay_parked(engine, settings.amqp_uri)
            click.echo(f"{service}: {replayed} parked events put back")
            for queue in sorted(missing):
                click.echo(
                    f"{service}: queue {queue} does not exist (start {service} first); its events stay parked"
                )
        finally:
            engine.dispose()
