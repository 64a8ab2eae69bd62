"""The Google sync's dependency: runs the job in threads the container manages (a killed
container stops them), with the setup read once from the settings.

On PostgreSQL the job has a pool of its own (one connection kept): on the service's it queued
behind the event handlers, and a run that makes thousands of contacts brings thousands of
events, each holding a connection while it waits for the change counter's lock (in
bench.google_sync the job then spent most of its time waiting for a connection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from nameko.extensions import DependencyProvider

from crm.auth import ACCESS_TOKEN_KEY
from crm.database import DatabaseAccess, create_service_engine, is_postgresql
from crm.settings import Settings
from providers.google_contacts import GOOGLE, GoogleEndpoints
from services.sync.google import runner
from services.sync.google import secrets as token_box
from services.sync.google.connections import GoogleSetup

log = logging.getLogger(__name__)
CALLBACK_PATH = "/api/v1/sync/google/callback"


def google_setup(settings: Settings) -> GoogleSetup:
    """Google's addresses (the sandbox's in sandbox mode, unless set), the client, the callback."""
    google = settings.sync.google
    if settings.messaging.sandbox:
        base = GoogleEndpoints.of_sandbox(f"http://127.0.0.1:{settings.messaging.sandbox_port}")
    else:
        base = GOOGLE
    endpoints = GoogleEndpoints(
        google.auth_uri or base.auth_uri,
        google.token_uri or base.token_uri,
        google.revoke_uri or base.revoke_uri,
        google.api_endpoint or base.api_endpoint,
    )
    gateway = settings.gateway
    public = (gateway.public_url or f"http://{gateway.host}:{gateway.port}").rstrip("/")
    return GoogleSetup(
        endpoints,
        google.client_id,
        google.client_secret,
        google.redirect_uri or public + CALLBACK_PATH,
        google.group_name,
        google.timeout_seconds,
    )


class _ActingAs:
    """What an RPC client needs of a worker context, carrying the job's access token."""

    def __init__(self, access_token: str | None):
        self.context_data = {ACCESS_TOKEN_KEY: access_token} if access_token else {}
        self.call_id_stack: list[str] = []


def caller_of(client: Any, access_token: str | None) -> Callable[..., Any]:
    """``call(method, *args)`` on the service of ``client`` (an ``RpcClient``'s worker view), as
    the user of ``access_token``."""
    provider, context = client._provider, _ActingAs(access_token)
    return lambda method, *args: provider.call(context, method, args, {})


class GoogleJobs(DependencyProvider):
    """``launch(db, run_id, accounts, contacts)`` runs the job in a managed thread; ``setup``,
    ``box`` and ``services_for`` are what the entrypoints need."""

    def setup(self) -> None:
        settings: Settings = self.container.config["CRM"]
        google = settings.sync.google
        self.setup_of_google = google_setup(settings)
        self.box: Fernet = token_box.cipher(google.secret_key, settings.data_dir)
        self.interval = timedelta(minutes=google.interval_minutes)
        self.retry = timedelta(minutes=google.retry_minutes)
        self.engine = None
        if is_postgresql(settings.database_url(self.container.service_name)):
            # One connection kept, more while several runs write at once (a timer's round of
            # users). SQLite keeps one connection per process (a second writer would stall the hub).
            kept = settings.database.model_copy(update={"pool_size": 1})
            one = settings.model_copy(update={"database": kept})
            self.engine = create_service_engine(
                one, self.container.service_name, max_overflow=settings.database.pool_size
            )

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> GoogleJobs:
        return self

    def services_for(self, accounts: Any, contacts: Any) -> runner.JobServices:
        def access_token_for(api_token: str) -> str:
            return caller_of(accounts, None)("exchange_api_token", api_token)["access_token"]

        return runner.JobServices(
            setup=self.setup_of_google,
            box=self.box,
            access_token_for=access_token_for,
            contacts_for=lambda access_token: caller_of(contacts, access_token),
            interval=self.interval,
            retry=self.retry,
        )

    def launch(self, db: DatabaseAccess, run_id: str, accounts: Any, contacts: Any) -> None:
        services = self.services_for(accounts, contacts)
        if self.engine is not None:
            db = DatabaseAccess(self.engine, db.relay)
        self.container.spawn_managed_thread(
            lambda: runner.run(db, run_id, services), identifier=f"google-{run_id}"
        )
