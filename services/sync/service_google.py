"""The sync service's Google Contacts entrypoints: connect (the authorization URL, Google's
callback), the connection, disconnect, runs with their progress and per-contact log, and the
timer that runs each connection every ``sync.google.interval_minutes`` and takes over runs
whose runner died (services/sync/google/; docs/google-contacts.md).

A mixin of ``SyncService``: it uses that class's ``db``, ``caller``, ``accounts`` and ``contacts``.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.timer import timer
from sqlalchemy import select

from crm.errors import CrmError, InvalidInput, field_error
from crm.rpc import rpc
from crm.times import utcnow
from providers import google_contacts as google
from services.sync.google import connections, runs
from services.sync.google import secrets as token_box
from services.sync.google.connections import API_TOKEN_NAME
from services.sync.google.dependencies import GoogleJobs
from services.sync.google.exceptions import GoogleNotConnected, GoogleRunNotFound
from services.sync.google.models import GoogleConnection

# How often a process looks for connections due a run, and for runs to take over.
DUE_POLL_SECONDS = 30
MAX_LOG_PAGE = 500

log = logging.getLogger(__name__)


class GoogleContactsEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    contacts: Any
    google_jobs = GoogleJobs()

    @rpc
    def connect_google(self, login_hint: str | None = None) -> dict[str, Any]:
        """Start connecting the caller's Google account: ``{authorization_url, state_expires_at}``;
        send the browser there. The first time, a CRM API token named "Google Contacts sync" is
        made for the caller: the job acts with it (an API-token session cannot make one:
        ``Forbidden``). Read-only users cannot connect (the sync writes contacts)."""
        caller = self.caller.writer()
        if login_hint is not None and (not isinstance(login_hint, str) or len(login_hint) > 254):
            raise InvalidInput(
                "login_hint: an e-mail address", [field_error("login_hint", "an e-mail address")]
            )
        jobs = self.google_jobs
        with self.db.transaction() as uow:
            return connections.start(
                uow.session,
                caller,
                jobs.setup_of_google,
                jobs.box,
                lambda: self.accounts.create_api_token({"name": API_TOKEN_NAME}),
                login_hint,
            )

    @rpc
    def google_callback(
        self, state: str, code: str | None = None, error: str | None = None
    ) -> dict[str, Any]:
        """Google's redirect after consent (no login: the single-use ``state`` names the user):
        trade the code for a refresh token, kept encrypted, and start the first run. An unknown
        or expired state, or a code Google refuses: ``GoogleAuthorizationFailed``."""
        jobs = self.google_jobs
        with self.db.transaction() as uow:
            answer, run = connections.finish(
                uow.session, jobs.setup_of_google, jobs.box, code, state or "", error
            )
        if run is not None:
            jobs.launch(self.db, run.id, self.accounts, self.contacts)
        return answer

    @rpc
    def get_google_connection(self) -> dict[str, Any]:
        """The caller's connection: status, last success, last error (why the job stopped), next
        run, latest run. Not connected: ``GoogleNotConnected``."""
        caller = self.caller.user()
        with self.db.read() as session:
            return connections.connection_out(session, connections.connection_of(session, caller.user_id))

    @rpc
    def disconnect_google(self) -> None:
        """Forget the caller's connection and links (contacts stay on both sides), revoke the CRM
        API token it acted with and, as far as Google answers, the Google grant."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            token_id, refresh_token = connections.disconnect(uow.session, caller.user_id)
        try:
            self.accounts.revoke_api_token(token_id)
        except CrmError as exc:  # already revoked by the user
            log.info("the Google sync's API token %s was not revoked: %s", token_id, exc)
        jobs = self.google_jobs
        if refresh_token:
            try:
                google.revoke(jobs.setup_of_google.endpoints, token_box.decrypt(jobs.box, refresh_token))
            except token_box.SecretUnreadable:
                pass

    @rpc
    def start_google_sync(self) -> dict[str, Any]:
        """Run the caller's sync now: the run (``created`` false when one is already queued or
        running, which is answered instead)."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            connection = connections.connection_of(uow.session, caller.user_id)
            if connection.status != "connected":
                raise GoogleNotConnected("the Google account is not connected yet: finish the authorization")
            run, created = runs.open_run(uow.session, connection, "manual")
            answer = {**runs.run_out(run), "created": created}
        if created:
            self.google_jobs.launch(self.db, run.id, self.accounts, self.contacts)
        return answer

    @rpc
    def list_google_runs(self, limit: int = 20) -> dict[str, Any]:
        """The caller's runs, latest first."""
        caller = self.caller.user()
        limit = _limit(limit, 100)
        with self.db.read() as session:
            return {"items": runs.runs_of(session, caller.user_id, limit)}

    @rpc
    def get_google_run(self, run_id: str) -> dict[str, Any]:
        """One of the caller's runs and its progress each way."""
        caller = self.caller.user()
        with self.db.read() as session:
            run = runs.run_of(session, caller.user_id, run_id)
            if run is None:
                raise GoogleRunNotFound(f"no Google sync run {run_id}")
            return runs.run_out(run)

    @rpc
    def list_google_run_log(self, run_id: str, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """What a run did to each contact, or why it skipped it, in order, a page at a time."""
        caller = self.caller.user()
        limit = _limit(limit, MAX_LOG_PAGE)
        after = int(cursor) if isinstance(cursor, str) and cursor.isdigit() else 0
        with self.db.read() as session:
            if runs.run_of(session, caller.user_id, run_id) is None:
                raise GoogleRunNotFound(f"no Google sync run {run_id}")
            return runs.log_page(session, run_id, after, limit)

    @timer(interval=DUE_POLL_SECONDS)
    def run_due_google_syncs(self) -> None:
        """Each connected user whose next run is due gets one; a run whose runner fell silent (its
        process died) is taken over and resumes after its last batch."""
        now = utcnow()
        with self.db.transaction() as uow:
            session = uow.session
            due = session.scalars(
                select(GoogleConnection)
                .where(GoogleConnection.status == "connected", GoogleConnection.next_run_at <= now)
                .with_for_update(skip_locked=True)
            ).all()
            stale = runs.runs_to_take_over(session, now)
            for connection in due:
                run, created = runs.open_run(session, connection, "schedule")
                connection.next_run_at = None  # the run's end sets the next one
                if created:
                    stale.append(run.id)
        for run_id in stale:
            self.google_jobs.launch(self.db, run_id, self.accounts, self.contacts)


def _limit(limit: Any, most: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(f"limit: from 1 to {most}", [field_error("limit", f"from 1 to {most}")])
    return limit
