"""Typed settings read once, at start-up, from one YAML file.

Values may use ``${NAME}`` or ``${NAME:-default}`` to pull from the environment.
Every setting has a default that works on a laptop.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from crm.service_settings import (
    ContactsSettings,
    InteractionsSettings,
    MailinSettings,
    MailjetSettings,
    MailSettings,
    MessagingSettings,
    Section,
    SendGridSettings,
    SmtpOutSettings,
    SyncSettings,
    TwilioSettings,
)

# The services' sections live in crm.service_settings; they are imported from here as before.
__all__ = [
    "ContactsSettings",
    "InteractionsSettings",
    "MailSettings",
    "MailinSettings",
    "MailjetSettings",
    "MessagingSettings",
    "SendGridSettings",
    "Settings",
    "SmtpOutSettings",
    "SyncSettings",
    "TwilioSettings",
]

CONFIG_ENV_VAR = "CRM_CONFIG"
ALL_SERVICES = (
    "accounts",
    "gateway",
    "contacts",
    "interactions",
    "notifier",
    "messaging",
    "mailin",
    "sync",
)
# Services that exist as running code today; the others are packages only.
RUNNABLE_SERVICES = (
    "accounts",
    "gateway",
    "contacts",
    "messaging",
    "interactions",
    "notifier",
    "mailin",
    "sync",
)

_ENV_REFERENCE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>(?:[^{}]|\{[^{}]*\})*))?\}"
)


class SettingsError(Exception):
    """The configuration file cannot be read or holds a bad value."""


def substitute_environment(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with values from the environment.

    An unset variable without a default is an error rather than an empty string,
    so that a forgotten secret does not silently become blank.
    """
    environ = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        value = environ.get(name)
        if value is not None and value != "":
            return value
        if default is not None:
            return default
        raise SettingsError(f"environment variable {name} is not set and has no default")

    return _ENV_REFERENCE.sub(replace, text)


def _substitute_values(value: Any, environ: dict[str, str] | None) -> Any:
    if isinstance(value, str):
        return substitute_environment(value, environ)
    if isinstance(value, dict):
        return {key: _substitute_values(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_values(item, environ) for item in value]
    return value


_Section = Section


class DatabaseSettings(_Section):
    # ``{service}`` and ``{data_dir}`` are filled in per service. With PostgreSQL
    # each service gets its own schema, named after the service.
    url: str = "sqlite:///{data_dir}/{service}.db"
    pool_size: int = Field(default=10, ge=1, le=200)
    # PostgreSQL's default (4) assumes spinning disks and makes the planner
    # prefer sequential scans over the trigram indexes that search relies on.
    postgres_random_page_cost: float = Field(default=1.1, gt=0, le=100)
    # How PostgreSQL compresses long values (a mail's text in an interaction, its events): lz4
    # costs the server a fraction of pglz's CPU (PostgreSQL 14 or newer, built with lz4).
    postgres_toast_compression: Literal["lz4", "pglz"] = "lz4"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        # postgres:// is the spelling Heroku, Docker images and psql print; SQLAlchemy wants postgresql://.
        url = re.sub(r"^postgres(?=[+:])", "postgresql", url.strip())
        scheme = url.partition(":")[0].partition("+")[0].lower()
        if scheme not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"{scheme or 'this'} databases are not supported: use a postgresql:// or sqlite:/// URL"
            )
        return url


class AuthSettings(_Section):
    issuer: str = "crm"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=300)
    # Passphrase that encrypts the token signing keys at rest; empty = unencrypted.
    key_passphrase: str = ""
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    # How long the gateway may reuse the access token it got for an API token.
    api_token_cache_seconds: int = Field(default=30, ge=0, le=300)


# The records a QR code can point at, by their name in the API's paths.
RecordKind = Literal["companies", "contacts", "projects", "interactions"]
RECORD_URL_FIELDS = ("public_url", "kind", "id")


def _checked_record_url_template(template: str) -> str:
    """A record address template holds ``{id}`` and no other field than ``RECORD_URL_FIELDS``."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a template: {exc}") from None
    unknown = sorted(fields - set(RECORD_URL_FIELDS))
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in RECORD_URL_FIELDS)
        raise ValueError(f"{template!r}: unknown field {{{unknown[0]}}}, use {known}")
    if "id" not in fields:
        raise ValueError(f"{template!r} has no {{id}}: every record would get the same address")
    return template


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = ""
    cors_origins: list[str] = Field(default_factory=list)
    # Trust the left-most X-Forwarded-For address (only behind a proxy you run).
    trust_forwarded_for: bool = False
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # One line per HTTP request: method, route template, status, duration, request id.
    access_log: bool = True
    # The web address a record's QR code opens (services/gateway/qr_codes.py); per-kind templates
    # (companies, contacts, projects, interactions) replace it for their kind.
    record_url_template: str = "{public_url}/{kind}/{id}"
    record_url_templates: dict[RecordKind, str] = Field(default_factory=dict)
    # Megabytes of calendar feeds (services/gateway/calendar_routes.py) a gateway process keeps,
    # so that sync need not send again a feed that did not change.
    calendar_cache_mb: int = Field(default=32, ge=0, le=4096)
    # Requests a gateway process works on at once (its nameko max_workers; bus.max_workers is the
    # services'). Each one mostly waits on a service's answer: with 64, phones' pulls waiting on a
    # busy sync took every slot and the office's searches queued behind them (bench/capacity.md).
    max_workers: int = Field(default=1000, ge=1, le=10_000)

    @field_validator("record_url_template")
    @classmethod
    def _record_url_template(cls, template: str) -> str:
        return _checked_record_url_template(template)

    @field_validator("record_url_templates")
    @classmethod
    def _record_url_templates(cls, templates: dict[str, str]) -> dict[str, str]:
        return {kind: _checked_record_url_template(template) for kind, template in templates.items()}

    def public_address(self) -> str:
        """The gateway as the world reaches it: ``public_url``, else ``http://host:port``."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def record_address(self, kind: RecordKind, record_id: str) -> str:
        """The web address of a record (a QR code's, a calendar event's URL), from
        ``record_url_template`` or the kind's own in ``record_url_templates``."""
        template = self.record_url_templates.get(kind, self.record_url_template)
        return template.format(public_url=self.public_address(), kind=kind, id=quote(record_id, safe=""))


class BusSettings(_Section):
    # Concurrent workers per service process; RabbitMQ prefetch follows it.
    max_workers: int = Field(default=64, ge=1, le=1000)


class OutboxSettings(_Section):
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    retry_delay_seconds: float = Field(default=2.0, gt=0)
    # Woken by a commit, the relay waits this long for the commits of other workers to join the
    # batch: a batch costs a claim, a commit and a confirm whatever its size.
    gather_seconds: float = Field(default=0.005, ge=0, le=1)


class RunSettings(_Section):
    # Processes `crm run` starts for a service; one for a service not named. Several processes of
    # a service share its queue (and, on PostgreSQL, its outbox); gateway processes share its port
    # (SO_REUSEPORT: the kernel spreads new connections over them).
    processes: dict[str, int] = Field(default_factory=dict)

    @field_validator("processes")
    @classmethod
    def _counts(cls, processes: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(processes) - set(RUNNABLE_SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(unknown)}")
        for service, count in processes.items():
            if not 1 <= count <= 32:
                raise ValueError(f"{service}: a count from 1 to 32")
        return processes


class MetricsSettings(_Section):
    # Each process serves its Prometheus metrics at http://host:port/metrics; `crm run` gives its
    # i-th process port + i; the environment variable CRM_METRICS_PORT overrides port; 0 = off.
    host: str = "127.0.0.1"
    port: int = Field(default=9400, ge=0, le=65535)


class BlobSettings(_Section):
    # Where document bytes are kept, by content hash ({data_dir} is filled in).
    folder: str = "{data_dir}/blobs"


class Settings(_Section):
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    data_dir: str = "var"
    log_level: str = "INFO"
    # text, json, or auto: text on a terminal, JSON lines anywhere else.
    log_format: Literal["auto", "json", "text"] = "auto"
    services: list[str] = Field(default_factory=lambda: list(RUNNABLE_SERVICES))
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    contacts: ContactsSettings = Field(default_factory=ContactsSettings)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    interactions: InteractionsSettings = Field(default_factory=InteractionsSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    mailin: MailinSettings = Field(default_factory=MailinSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level.upper()

    @field_validator("services")
    @classmethod
    def _known_services(cls, services: list[str]) -> list[str]:
        unknown = sorted(set(services) - set(ALL_SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(unknown)}")
        return services

    @model_validator(mode="after")
    def _several_processes_need_postgresql(self) -> Settings:
        several = sorted(name for name, count in self.run.processes.items() if count > 1)
        # SQLite files are written by one process at a time and its outbox has no SKIP LOCKED.
        if [name for name in several if name != "gateway"] and not self.database.url.startswith("postgresql"):
            raise ValueError("run.processes: several processes of a service need PostgreSQL (database.url)")
        if "gateway" in several and self.gateway.port == 0:
            raise ValueError("run.processes: several gateway processes need a fixed gateway.port, not 0")
        return self

    def processes_of(self, service: str) -> int:
        """How many processes of ``service`` `crm run` starts."""
        return self.run.processes.get(service, 1)

    def database_url(self, service: str) -> str:
        return self.database.url.format(service=service, data_dir=self.data_dir)

    def nameko_config(self, service: str | None = None) -> dict[str, Any]:
        """The config dict handed to nameko containers (of ``service``: the gateway has a worker
        pool of its own size); dependencies read ``CRM``."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.gateway.max_workers if service == "gateway" else self.bus.max_workers,
            "WEB_SERVER_ADDRESS": f"{self.gateway.host}:{self.gateway.port}",
            # Binds each worker's request id for its log lines and events (crm.logs).
            "SERVICE_CONTAINER_CLS": "crm.logs.RequestScopedContainer",
            "CRM": self,
        }

    def webhook_base_url(self) -> str:
        """The address providers post their webhooks to (the gateway as the world sees it)."""
        base = self.messaging.webhook_base_url or self.gateway.public_url
        return (base or f"http://{self.gateway.host}:{self.gateway.port}").rstrip("/")


def parse_settings(text: str, environ: dict[str, str] | None = None) -> Settings:
    """Build settings from YAML text after environment substitution."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"configuration is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise SettingsError("configuration must be a mapping at the top level")
    # Substituted inside parsed values, so a secret holding '#' or '"' stays whole.
    document = _substitute_values(document, environ)
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise SettingsError(f"configuration has bad values: {_on_one_line(exc)}") from exc


def _on_one_line(exc: ValidationError) -> str:
    """Each bad value as ``key: why``, all on the one line the CLI prints (without the value,
    which may be a URL with its password)."""
    return "; ".join(
        # A check across keys (a model validator) has no location: its message names the keys.
        ".".join(str(part) for part in error["loc"])
        + (": " if error["loc"] else "")
        + error["msg"].removeprefix("Value error, ")
        for error in exc.errors()
    )


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings from ``path``, ``$CRM_CONFIG``, ``./crm.yaml``, or defaults.

    With no file at all, the defaults still honour ``AMQP_URI`` and
    ``CRM_DATABASE_URL`` so that a laptop needs no configuration.
    """
    chosen = path or os.environ.get(CONFIG_ENV_VAR)
    if chosen is None and Path("crm.yaml").exists():
        chosen = "crm.yaml"
    if chosen is None:
        return parse_settings(_DEFAULT_DOCUMENT)
    try:
        text = Path(chosen).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read configuration file {chosen}: {exc.strerror}") from exc
    return parse_settings(text)


_DEFAULT_DOCUMENT = """
amqp_uri: ${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}
data_dir: ${CRM_DATA_DIR:-var}
database:
  url: ${CRM_DATABASE_URL:-sqlite:///{data_dir}/{service}.db}
gateway:
  host: ${CRM_HOST:-127.0.0.1}
  port: ${CRM_PORT:-8000}
auth:
  key_passphrase: "${CRM_KEY_PASSPHRASE:-}"
mail:
  ingest_domain: ${CRM_INGEST_DOMAIN:-in.crm.localhost}
mailin:
  secret_key: "${CRM_MAILIN_SECRET_KEY:-}"
"""
