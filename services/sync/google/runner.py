"""One run of a user's Google sync: Google's changes to the CRM, then the CRM's to Google.

The run takes a lease, reads the connection, trades the connection's CRM API
token for an access token and opens the People API with the refresh token.
Google's side goes a page of 50 at a time from the connection's sync token
(everything when there is none, or when Google says it expired), the CRM's in
batches of 50 contacts from the change sequence the last run reached; each
batch's links, log and progress commit together, so a run taken over after a
crash resumes after its last batch. The sync token and the sequence move on
only when their direction is done.

Google refusing the refresh token, the People API failing, the CRM refusing
the job's token: the run stops, its batch written as far as it went, the
reason on the run and the connection, and the connection is tried again after
``retry_minutes``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import update

from crm.database import DatabaseAccess
from crm.errors import Forbidden, ServiceUnavailable, Unauthenticated
from crm.ids import new_id
from crm.times import utcnow
from providers import google_contacts as google
from services.sync.feed import current_seq
from services.sync.google import crm_side, runs
from services.sync.google import secrets as token_box
from services.sync.google.connections import GoogleSetup
from services.sync.google.from_google import apply_page
from services.sync.google.job_state import JobState, Links
from services.sync.google.models import GoogleConnection, GoogleRun
from services.sync.google.to_google import push_batch

BATCH = 50  # the product's rule
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobServices:
    setup: GoogleSetup
    box: Fernet
    access_token_for: Callable[[str], str]  # the CRM API token -> an access token
    contacts_for: Callable[[str], Callable[..., Any]]  # an access token -> call(method, *args)
    interval: timedelta
    retry: timedelta
    people_for: Callable[[str], google.PeopleClient] | None = None  # refresh token -> client (tests)


class Stop(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class _Start:
    run_id: str
    user_id: str
    org_id: str
    phase: str
    resumed: bool
    page_token: str | None
    full_listing: bool
    crm_after_id: str | None
    crm_upto: int | None
    google_done: int
    crm_done: int
    refresh_token: str
    crm_token: str
    group_name: str
    group: str | None
    sync_token: str | None
    crm_seq: int


def run(
    db: DatabaseAccess, run_id: str, services: JobServices, lease_seconds: float = runs.LEASE_SECONDS
) -> None:
    """Run ``run_id`` to its end, unless it ended or another runner is alive on it."""
    runner_id = new_id()
    start = _claim(db, run_id, runner_id, lease_seconds)
    if start is None:
        return
    job: JobState | None = None
    try:
        job = _open(db, start, runner_id, services)
        if start.phase == "from_google" or start.resumed:
            _from_google(job, start)
        _to_google(job, start)
        _succeed(db, start, runner_id, services, job)
    except runs.LeaseLost:
        log.warning("Google sync run %s was taken over by another runner; this one stops", run_id)
    except Exception as error:
        stop = _stop_of(error)
        if stop.code == "sync_failed":
            log.exception("Google sync run %s stopped on an unexpected error", run_id)
        else:
            log.warning("Google sync run %s stopped: %s", run_id, stop.reason)
        _fail(db, start, runner_id, services, job, stop)


def _claim(db: DatabaseAccess, run_id: str, runner_id: str, lease_seconds: float) -> _Start | None:
    with db.transaction() as uow:
        session = uow.session
        run = runs.claim(session, run_id, runner_id, lease_seconds)
        if run is None:
            return None
        connection = session.get(GoogleConnection, run.user_id)
        if connection is None or connection.status != "connected" or not connection.refresh_token:
            run.status, run.error_code, run.finished_at = "failed", "not_connected", utcnow()
            run.error = "Google is not connected for this user"
            return None
        return _Start(
            run_id=run.id,
            user_id=run.user_id,
            org_id=run.org_id,
            phase=run.phase,
            resumed=run.google_done > 0 or run.phase != "from_google",
            page_token=run.page_token,
            full_listing=run.full_listing,
            crm_after_id=run.crm_after_id,
            crm_upto=run.crm_upto,
            google_done=run.google_done,
            crm_done=run.crm_done,
            refresh_token=connection.refresh_token,
            crm_token=connection.crm_token,
            group_name=connection.group_name,
            group=connection.group_resource_name,
            sync_token=connection.sync_token,
            crm_seq=connection.crm_seq,
        )


def _open(db: DatabaseAccess, start: _Start, runner_id: str, services: JobServices) -> JobState:
    refresh_token = token_box.decrypt(services.box, start.refresh_token)
    access_token = services.access_token_for(token_box.decrypt(services.box, start.crm_token))
    setup = services.setup
    people = (
        services.people_for(refresh_token)
        if services.people_for
        else google.PeopleClient(
            setup.endpoints, setup.client_id, setup.client_secret, refresh_token, setup.timeout
        )
    )
    group = start.group or people.group(start.group_name)
    with db.read() as session:
        links = Links.load(session, start.user_id)
        contacts = crm_side.load_contacts(session, start.org_id)
    job = JobState(
        db,
        start.run_id,
        runner_id,
        start.org_id,
        start.user_id,
        group,
        people,
        crm_side.ContactsWriter(services.contacts_for(access_token)),
        contacts,
        links,
    )
    if start.group is None:
        job.flush(connection={"group_resource_name": group})
    return job


def _from_google(job: JobState, start: _Start) -> None:
    full = start.full_listing or not start.sync_token
    page_token = start.page_token if start.phase == "from_google" else None
    done = start.google_done if start.phase == "from_google" else 0
    # A listing of everything from its first page also tells which links Google no longer has.
    seen: set[str] | None = set() if full and page_token is None else None
    while True:
        try:
            page = job.people.changes(None if full else start.sync_token, page_token, BATCH)
        except google.SyncTokenExpired:
            job.log(
                None, None, "to_crm", "skipped", "Google's sync token expired: everything is listed again"
            )
            full, page_token, done, seen = True, None, 0, set()
            continue
        apply_page(job, page.people)
        if seen is not None:
            seen.update(person["resourceName"] for person in page.people)
        done += len(page.people)
        progress = {"google_done": done, "google_total": max(page.total, done), "full_listing": full}
        if page.next_page_token:
            job.flush(page_token=page.next_page_token, **progress)
            page_token = page.next_page_token
            continue
        if seen is not None:
            for link in [k for k in job.links.by_resource.values() if k.resource_name not in seen]:
                job.unlink(link.contact_id)
                job.log(
                    link.contact_id,
                    link.resource_name,
                    "to_crm",
                    "unlinked",
                    "no longer in the Google group: no longer synced, the CRM contact is kept",
                )
        job.flush(
            page_token=None, phase="to_google", connection={"sync_token": page.next_sync_token}, **progress
        )
        return


def _to_google(job: JobState, start: _Start) -> None:
    resuming = start.phase == "to_google"
    with job.db.read() as session:
        upto = start.crm_upto if resuming and start.crm_upto else current_seq(session)
        ids = crm_side.changed_contact_ids(session, job.org_id, start.crm_seq, upto) | job.also_push
        fresh = crm_side.load_contacts(session, job.org_id, ids)
    for contact_id, contact in fresh.by_id.items():
        held = job.contacts.by_id.get(contact_id)
        if held is None or contact.version >= held.version or contact.deleted:
            job.contacts.put(contact)
    after = start.crm_after_id if resuming else None
    candidates = sorted(i for i in ids if after is None or i > after)
    done = start.crm_done if resuming else 0
    job.flush(crm_upto=upto, crm_total=done + len(candidates), crm_done=done)
    for first in range(0, len(candidates), BATCH):
        batch = candidates[first : first + BATCH]
        push_batch(job, batch)
        done += len(batch)
        job.flush(crm_after_id=batch[-1], crm_done=done)
    job.crm_upto = upto


def _succeed(db: DatabaseAccess, start: _Start, runner_id: str, services: JobServices, job: JobState) -> None:
    now = utcnow()
    job.flush(
        status="done",
        phase="done",
        finished_at=now,
        connection={
            "crm_seq": job.crm_upto,
            "last_success_at": now,
            "last_error_code": None,
            "last_error": None,
            "last_error_at": None,
            "next_run_at": now + services.interval,
        },
    )


def _fail(
    db: DatabaseAccess, start: _Start, runner_id: str, services: JobServices, job: JobState | None, stop: Stop
) -> None:
    now = utcnow()
    if job is not None:
        try:
            job.flush()  # what this batch did so far
        except Exception:
            log.warning("Google sync run %s: the last batch could not be written", start.run_id)
    with db.transaction() as uow:
        session = uow.session
        session.execute(
            update(GoogleRun)
            .where(
                GoogleRun.id == start.run_id, GoogleRun.runner_id == runner_id, GoogleRun.status == "running"
            )
            .values(status="failed", error_code=stop.code, error=stop.reason, finished_at=now)
        )
        session.execute(
            update(GoogleConnection)
            .where(GoogleConnection.user_id == start.user_id)
            .values(
                last_error_code=stop.code,
                last_error=stop.reason,
                last_error_at=now,
                next_run_at=now + services.retry,
            )
        )


def _stop_of(error: Exception) -> Stop:
    if isinstance(error, Stop):
        return error
    if isinstance(error, google.GoogleAccessRevoked):
        return Stop("google_access_revoked", f"{error.reason}: connect Google again")
    if isinstance(error, google.GoogleApiError):
        code = "google_unavailable" if error.retryable else "people_api_error"
        return Stop(code, f"{error.reason}; tried again later")
    if isinstance(error, google.GoogleError):
        return Stop("people_api_error", f"{error.reason}; tried again later")
    if isinstance(error, token_box.SecretUnreadable):
        return Stop("secret_unreadable", str(error))
    if isinstance(error, Unauthenticated):
        return Stop(
            "crm_access_revoked",
            "the CRM access this sync acts with was revoked (its API token, or the user): "
            "connect Google again",
        )
    if isinstance(error, Forbidden):
        return Stop("crm_access_refused", f"the CRM refused the sync's writes: {error.detail}")
    if isinstance(error, ServiceUnavailable):
        return Stop("crm_unavailable", f"{error.detail}; tried again later")
    return Stop(
        "sync_failed", "the sync stopped on an unexpected error; it has been logged; tried again later"
    )
