"""mailin: mail sent or fetched for users becomes ``mail_received``. Entrypoints only.

The SMTP listener (``smtp/``, its own process) and the IMAP checks store each
message once with a pending delivery per user (``store.py``); a timer here
turns pending deliveries into ``mail_received`` (``processing.py``), which
``interactions`` makes a pending e-mail interaction of. The ingest addresses
the listener answers ``RCPT`` from are kept from accounts' events
(``ingest_addresses.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from nameko.dependency_providers import Config

from crm.blobs import open_blob_store
from crm.database import Database, once_more_on_conflict
from crm.events import durable_event_handler
from crm.health import Pingable
from crm.inbox import first_delivery
from crm.rpc import RpcClient, rpc
from services.mailin import ingest_addresses, linking, processing, smtp_passwords
from services.mailin.dependencies import configured_timer
from services.mailin.models import Base
from services.mailin.service_mailboxes import MailboxesMixin

ACCOUNTS = "accounts"
# Besides the events, the whole list is read again this often: it mends anything missed.
ADDRESS_RESYNC_SECONDS = 300
STARTUP_ATTEMPTS = 30

log = logging.getLogger(__name__)


class MailinService(Pingable, MailboxesMixin):
    name = "mailin"

    db = Database(Base.metadata)
    config = Config()
    accounts = RpcClient("accounts")
    contacts = RpcClient("contacts")

    @property
    def settings(self) -> Any:
        return self.config["CRM"]

    # -- processing -------------------------------------------------------------

    @configured_timer(interval_of=lambda settings: settings.mailin.poll_interval_seconds, eager=True)
    def process_pending(self) -> None:
        """Every stored message not processed yet becomes ``mail_received`` for its user (or is
        marked a duplicate), a few at a time; one that fails is tried again later, backing off."""
        blobs = open_blob_store(self.settings)
        find_contacts = self._contact_finder()

        def drain() -> None:
            while processing.process_next(self.db, blobs, find_contacts):
                pass

        pool = eventlet.GreenPool(self.settings.mailin.processing_concurrency)
        drains = [pool.spawn(drain) for _ in range(self.settings.mailin.processing_concurrency)]
        try:
            pool.waitall()
        finally:
            # The container kills this worker, not the threads it spawned: they would go on taking
            # deliveries with the killed container's RPC client, whose replies nobody hears.
            for thread in drains:
                thread.kill()

    def _contact_finder(self) -> processing.FindContacts:
        return lambda queries: linking.find_contacts(self.contacts, queries)

    # -- SMTP passwords, for mail clients outside the office ---------------------------

    @rpc
    def issue_smtp_password(self) -> dict[str, Any]:
        """A new SMTP password for the caller's ingest address (the previous one stops working),
        answered this once, with the user name to give the mail client (the address) and
        whether the listener offers AUTH (``mailin.smtp_auth``). Writers only: what the address
        takes becomes interactions."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            login = smtp_passwords.issue(uow.session, caller.user_id, self.config["CRM"].mail.ingest_domain)
        return {**login, "auth_offered": bool(self.settings.mailin.smtp_auth)}

    @rpc
    def revoke_smtp_password(self) -> None:
        """The caller's SMTP password stops working (plain delivery from the office still works)."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            smtp_passwords.revoke(uow.session, caller.user_id)

    # -- ingest addresses, from accounts ------------------------------------------

    @configured_timer(interval_of=lambda settings: ADDRESS_RESYNC_SECONDS, eager=True)
    def load_ingest_addresses(self) -> None:
        """Read every user's ingest address from accounts (at start, then now and then)."""
        for _attempt in range(STARTUP_ATTEMPTS):
            try:
                records = self.accounts.get_ingest_addresses()
                break
            except Exception as exc:  # accounts not up yet: the events still keep the table
                log.warning("ingest addresses not loaded from accounts yet (%s); trying again", exc)
                eventlet.sleep(2)
        else:
            return
        with self.db.transaction() as uow:
            ingest_addresses.apply_snapshot(uow.session, records)

    @durable_event_handler(ACCOUNTS, "ingest_address_changed")
    def on_ingest_address_changed(self, payload: dict[str, Any]) -> None:
        """A user's address was made or rotated, or the user (de)activated: the listener takes
        the new address and refuses the old one from the commit on (once per event)."""
        self._apply(payload, "ingest_address_changed", ingest_addresses.apply_address)

    @durable_event_handler(ACCOUNTS, "user_created")
    def on_user_created(self, payload: dict[str, Any]) -> None:
        """Known before its address arrives (once per event)."""
        self._apply(payload, "user_created", ingest_addresses.apply_user)

    @durable_event_handler(ACCOUNTS, "user_deactivated")
    def on_user_deactivated(self, payload: dict[str, Any]) -> None:
        """The user's address is refused at RCPT from now on (once per event)."""
        self._apply(payload, "user_deactivated", ingest_addresses.apply_user)

    @durable_event_handler(ACCOUNTS, "user_reactivated")
    def on_user_reactivated(self, payload: dict[str, Any]) -> None:
        """The user's address takes mail again (once per event)."""
        self._apply(payload, "user_reactivated", ingest_addresses.apply_user)

    def _apply(self, payload: dict[str, Any], event_type: str, apply: Any) -> None:
        def transaction() -> None:
            with self.db.transaction() as uow:
                if first_delivery(uow.session, payload["event_id"], f"mailin.{event_type}"):
                    apply(uow.session, payload["record"])

        once_more_on_conflict(transaction)
