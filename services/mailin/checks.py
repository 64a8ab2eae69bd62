"""One check of one mailbox: claim it, fetch what is new, store each message, record the outcome.

A check claims the mailbox by stamping ``checking_since`` (only when no other
check holds it, or the other one is older than ``imap_check_stale_seconds``
and so taken to have died): one check at a time per mailbox, on any number of
mailin processes. Every write the check makes afterwards names its claim, so
a check whose claim was taken over, or whose mailbox was changed or removed
meanwhile, stops without writing.

What is new: the UIDs above ``last_uid`` while the folder's UIDVALIDITY is the
one kept. When the server says another UIDVALIDITY (the folder was rebuilt),
every message is a candidate and its Message-ID decides: one the user already
has is not fetched (it still gets the after-import action). Bodies come in
batches, each size asked first: a message over ``imap_max_message_bytes``
stays on the server, counted and named on the mailbox. Each message is stored
with ``store_message`` (durable before the cursor moves past it), so a crash
loses nothing; a message fetched twice is one interaction all the same
(processing keys it by Message-ID per user).

An expected failure (wrong password, TLS, unreachable host, missing folder)
is recorded on the mailbox and logged as one line; the next period tries
again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from imapclient import IMAPClient
from sqlalchemy import Engine, and_, or_, select, update

from crm.blobs import BlobStore
from crm.times import utcnow
from services.mailin import ingest_addresses, metrics, passwords
from services.mailin.imap import fetch
from services.mailin.imap.errors import SERVER_ERROR, ImapFailure
from services.mailin.imap.session import ImapAccount, ImapOptions, logged_in, require_folder, select_folder
from services.mailin.models import Ingested, Mailbox
from services.mailin.store import store_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckLimits:
    batch_size: int
    max_messages: int
    max_message_bytes: int
    stale_seconds: int
    # A check asked for by a user (its answer awaited) starts no batch after this (time.monotonic()).
    deadline: float | None = None


@dataclass
class CheckOutcome:
    mailbox_id: str
    # False when another check holds the mailbox (nothing was done).
    claimed: bool
    imported: int = 0
    skipped: int = 0
    # Messages remain for the next check (the per-check cap, or a user's check out of time).
    more: bool = False
    failure: ImapFailure | None = None


class ClaimLost(Exception):
    """The mailbox was changed, removed or taken over while this check ran."""


def limits_of(settings: Any, *, asked: bool = False) -> CheckLimits:
    """The check's limits; ``asked`` (a user awaits the answer) also gives it a deadline, well
    within the gateway's RPC timeout: what is left waits for the next check."""
    mailin = settings.mailin
    return CheckLimits(
        mailin.imap_batch_size,
        mailin.imap_max_messages_per_check,
        mailin.imap_max_message_bytes,
        mailin.imap_check_stale_seconds,
        deadline=time.monotonic() + _answer_within(settings) / 2 if asked else None,
    )


def options_of(settings: Any, *, asked: bool = False) -> ImapOptions:
    """Connection options; when a user awaits the answer, each wait is short enough for it."""
    timeout = settings.mailin.imap_timeout_seconds
    if asked:
        timeout = min(timeout, _answer_within(settings) / 2)
    return ImapOptions(timeout, settings.mailin.imap_ca_file)


def _answer_within(settings: Any) -> float:
    return settings.gateway.rpc_timeout_seconds


def due_mailboxes(engine: Engine, every: timedelta, stale_seconds: int) -> list[str]:
    """Mailboxes whose last check (or, never checked, whose creation) is older than ``every``,
    that no live check holds, of users not deactivated."""
    now = utcnow()
    due_before = now - every
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(Mailbox.id)
                .where(
                    or_(
                        Mailbox.last_check_at <= due_before,
                        and_(Mailbox.last_check_at.is_(None), Mailbox.created_at <= due_before),
                    ),
                    _free(now, stale_seconds),
                    # A deactivated user's mail is not read.
                    ~ingest_addresses.deactivated(Mailbox.user_id),
                )
                .order_by(Mailbox.last_check_at.is_(None).desc(), Mailbox.last_check_at)
            )
        )


def check_mailbox(
    engine: Engine,
    blobs: BlobStore,
    fernet: Fernet,
    mailbox_id: str,
    options: ImapOptions,
    limits: CheckLimits,
) -> CheckOutcome:
    """Run one check of ``mailbox_id`` if no other check holds it; never raises for what the
    server or the mailbox's settings do wrong (that is the outcome's ``failure``)."""
    claim = _claim(engine, mailbox_id, limits.stale_seconds)
    if claim is None:
        return CheckOutcome(mailbox_id, claimed=False)
    mailbox, claimed_at = claim
    outcome = CheckOutcome(mailbox_id, claimed=True)
    try:
        account = ImapAccount(
            mailbox.host,
            mailbox.port,
            mailbox.security,
            mailbox.username,
            passwords.decrypt(fernet, mailbox.password_encrypted),
            mailbox.folder,
        )
        with logged_in(account, options) as client:
            _import(engine, blobs, client, mailbox, claimed_at, limits, outcome)
    except ClaimLost:
        log.info("mailbox %s changed or taken over during its check; stopped", mailbox_id)
        return outcome
    except ImapFailure as failure:
        outcome.failure = failure
        log.warning("mailbox %s check failed: %s", mailbox_id, failure)
    except Exception as exc:  # a defect, or the database: recorded, the next period tries again
        outcome.failure = ImapFailure(SERVER_ERROR, f"the check stopped: {type(exc).__name__}: {exc}"[:500])
        log.exception("mailbox %s check failed", mailbox_id)
    _release(engine, mailbox_id, claimed_at, outcome.failure)
    metrics.imap_checks.labels(metrics.FAILURE if outcome.failure else metrics.OK).inc()
    return outcome


def _import(
    engine: Engine,
    blobs: BlobStore,
    client: IMAPClient,
    mailbox: Mailbox,
    claimed_at: datetime,
    limits: CheckLimits,
    outcome: CheckOutcome,
) -> None:
    selected = select_folder(client, mailbox.folder)
    if mailbox.after_import == fetch.MOVE:
        require_folder(client, mailbox.move_to, "folder to move to")
    same_folder = mailbox.uid_validity == selected.uid_validity
    # A new UIDVALIDITY (not a first check): the UIDs kept mean nothing now; Message-IDs decide.
    by_message_id = mailbox.uid_validity is not None and not same_folder
    after_uid = (mailbox.last_uid or 0) if same_folder else 0
    found = fetch.new_uids(client, after_uid)
    uids = found[: limits.max_messages]
    outcome.more = len(found) > len(uids)
    if not uids:
        _advance(engine, mailbox.id, claimed_at, selected.uid_validity, after_uid, 0, None, None)
        return
    for number, batch in enumerate(fetch.batches(uids, limits.batch_size)):
        if number and limits.deadline is not None and time.monotonic() > limits.deadline:
            outcome.more = True
            return
        sizes = fetch.sizes(client, batch)
        wanted = [uid for uid in batch if sizes.get(uid, 0) <= limits.max_message_bytes]
        too_large = [uid for uid in batch if uid in sizes and sizes[uid] > limits.max_message_bytes]
        known = _already_had(engine, mailbox, client, wanted) if by_message_id else []
        stored = []
        for uid, raw in sorted(fetch.bodies(client, [uid for uid in wanted if uid not in known]).items()):
            store_message(
                engine, blobs, raw, [(mailbox.org_id, mailbox.user_id)], source="imap", mailbox_id=mailbox.id
            )
            stored.append(uid)
        last_skipped = (
            _skipped_words(client, too_large[-1], sizes[too_large[-1]], limits) if too_large else None
        )
        _advance(
            engine,
            mailbox.id,
            claimed_at,
            selected.uid_validity,
            batch[-1],
            len(stored),
            too_large,
            last_skipped,
        )
        outcome.imported += len(stored)
        outcome.skipped += len(too_large)
        fetch.after_import(client, stored + known, mailbox.after_import, mailbox.move_to)


def _already_had(engine: Engine, mailbox: Mailbox, client: IMAPClient, uids: list[int]) -> list[int]:
    """Of ``uids``, those whose Message-ID the user has received already."""
    keys = fetch.message_ids(client, uids)
    if not keys:
        return []
    with engine.connect() as connection:
        had = set(
            connection.scalars(
                select(Ingested.message_key).where(
                    Ingested.org_id == mailbox.org_id,
                    Ingested.user_id == mailbox.user_id,
                    Ingested.message_key.in_(set(keys.values())),
                )
            )
        )
    return [uid for uid in uids if keys.get(uid) in had]


def _skipped_words(client: IMAPClient, uid: int, size: int, limits: CheckLimits) -> str:
    subject = ""
    try:
        envelope = client.fetch([uid], ["ENVELOPE"]).get(uid, {}).get(b"ENVELOPE")
        if envelope is not None and envelope.subject:
            subject = f" {envelope.subject.decode('utf-8', 'replace')[:200]!r}"
    except Exception:  # the subject only makes the note clearer
        subject = ""
    return (
        f"UID {uid}{subject} ({size} bytes) is over the {limits.max_message_bytes} byte limit "
        "(mailin.imap_max_message_bytes); it stays on the server"
    )


# -- the mailbox row -------------------------------------------------------------------------------


def _free(now: datetime, stale_seconds: int) -> Any:
    return or_(
        Mailbox.checking_since.is_(None), Mailbox.checking_since < now - timedelta(seconds=stale_seconds)
    )


def _claim(engine: Engine, mailbox_id: str, stale_seconds: int) -> tuple[Mailbox, datetime] | None:
    now = utcnow()
    with engine.begin() as connection:
        taken = connection.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id, _free(now, stale_seconds))
            .values(checking_since=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        row = connection.execute(select(Mailbox.__table__).where(Mailbox.id == mailbox_id)).one()
    return Mailbox(**row._mapping), now


def _advance(
    engine: Engine,
    mailbox_id: str,
    claimed_at: datetime,
    uid_validity: int,
    last_uid: int,
    imported: int,
    too_large: list[int] | None,
    last_skipped: str | None,
) -> None:
    values: dict[str, Any] = {
        "uid_validity": uid_validity,
        "last_uid": last_uid,
        "messages_imported": Mailbox.messages_imported + imported,
    }
    if too_large:
        values.update(messages_skipped=Mailbox.messages_skipped + len(too_large), last_skipped=last_skipped)
    _write(engine, mailbox_id, claimed_at, values)


def _release(engine: Engine, mailbox_id: str, claimed_at: datetime, failure: ImapFailure | None) -> None:
    now = utcnow()
    values: dict[str, Any] = {"checking_since": None, "last_check_at": now}
    if failure is None:
        values.update(last_success_at=now, last_error=None, last_error_code=None)
    else:
        values.update(last_error=failure.detail, last_error_code=failure.code)
    try:
        _write(engine, mailbox_id, claimed_at, values)
    except ClaimLost:
        pass


def _write(engine: Engine, mailbox_id: str, claimed_at: datetime, values: dict[str, Any]) -> None:
    with engine.begin() as connection:
        written = connection.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id, Mailbox.checking_since == claimed_at)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if written.rowcount != 1:
        raise ClaimLost(mailbox_id)
