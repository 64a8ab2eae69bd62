"""What the commands do first: read the settings, set up logging, check that the broker and
the databases answer (one line saying how to start them when they do not), migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crm.settings import Settings, SettingsError, load_settings


class OneLineError(click.ClickException):
    """Shown as one line, ``crm: <message>``; the command exits with status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"crm: {self.message}", err=True)


class Unreachable(OneLineError):
    """A server we need is down or refuses us: one line saying what and what to do."""


class PublishedDefaultsWhenLive(OneLineError):
    """Live with a secret anyone can read in this repository: one line naming each setting."""


def refuse_published_defaults(settings: Settings) -> None:
    from cli.published_defaults import published_defaults

    found = published_defaults(settings)
    if found:
        raise PublishedDefaultsWhenLive(
            "refusing to run live (messaging.sandbox: false) with published defaults: "
            + "; ".join(found)
            + ". Set them (docs/operations.md#secrets), or run in sandbox mode."
        )


def check_broker(settings: Settings) -> None:
    from kombu import Connection

    try:
        with Connection(settings.amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        refusal = broker_refusal(exc, settings.amqp_uri)
        if refusal is not None:
            raise Unreachable(refusal) from None
        raise Unreachable(
            f"cannot reach RabbitMQ at {safe_url(settings.amqp_uri)} ({exc}). "
            "Start it with `rabbitmq-server -detached` or `docker compose up -d rabbitmq` "
            "(then AMQP_URI=amqp://crm:<CRM_RABBITMQ_PASSWORD of .env>@127.0.0.1:5672/), "
            "or point AMQP_URI at a running broker."
        ) from None


def broker_refusal(exc: Exception, amqp_uri: str) -> str | None:
    """What to say when RabbitMQ runs but refuses us (a wrong user or password, a missing
    vhost): telling the operator to start it would send them the wrong way."""
    from amqp.exceptions import AccessRefused, NotAllowed
    from kombu import Connection

    url = safe_url(amqp_uri)
    if isinstance(exc, AccessRefused):
        return (
            f"RabbitMQ at {url} refused the user name or password. "
            "Check the credentials in AMQP_URI (amqp_uri), or create the user with `rabbitmqctl add_user`."
        )
    if isinstance(exc, NotAllowed):
        vhost = Connection(amqp_uri).virtual_host
        return (
            f"RabbitMQ at {url} refused the vhost {vhost!r} ({exc.reply_text}). "
            f"Create it with `rabbitmqctl add_vhost {vhost}` and grant the user access with "
            f"`rabbitmqctl set_permissions -p {vhost} <user> '.*' '.*' '.*'`, or fix AMQP_URI."
        )
    return None


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
            f"cannot reach the {service} database at {safe_url(settings.database_url(service))} "
            f"({reason}). Start PostgreSQL (`pg_ctlcluster <version> main start` or "
            "`docker compose up -d postgres`, then "
            "CRM_DATABASE_URL=postgresql://crm:<CRM_POSTGRES_PASSWORD of .env>@127.0.0.1:5432/crm) "
            "or set CRM_DATABASE_URL."
        ) from None
    finally:
        engine.dispose()


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def crm_command(on_path: str | None, script: Path, cwd: Path) -> str:
    """How to type this ``crm`` here: ``crm`` when the PATH finds this one, else its path
    (``.venv/bin/crm`` from the project folder)."""
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "crm"
    try:
        return str(script.relative_to(cwd))
    except ValueError:
        return str(script)


def settings_from(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def configure_logging(settings: Settings, process: str) -> None:
    from crm.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, process)


def migrate_databases(settings: Settings, services: list[str]) -> None:
    from crm.migrations import has_migrations, upgrade

    for service in services:
        if has_migrations(service):
            check_database(settings, service)
            upgrade(settings, service)
