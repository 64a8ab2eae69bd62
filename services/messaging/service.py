"""messaging: SMS on prepaid credits, e-mail through providers, delivery events. Entrypoints only.

Every call but ``record_provider_events`` acts for the caller of the access
token, within their organisation; read-only users may read but not send.
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config
from nameko.timer import timer

from crm.auth import CallerProvider
from crm.database import Database, once_more_on_conflict
from crm.health import Pingable
from crm.rpc import RpcClient, rpc
from crm.validation import validate
from services.messaging import (
    authorization_codes,
    credit_ledger,
    emails,
    interrupted,
    provider_events,
    reports,
    sms,
    suppressions,
)
from services.messaging.dependencies import Providers
from services.messaging.models import Base
from services.messaging.schemas import (
    AuthorizationCodeCreate,
    CreditPurchase,
    EmailSend,
    EmailSettingsUpdate,
    ReportQuery,
    SmsSend,
)

import services.accounts.exceptions  # noqa: F401, E402  isort: skip  (its errors cross RPC as themselves)


class MessagingService(Pingable):
    name = "messaging"

    db = Database(Base.metadata)
    caller = CallerProvider()
    providers = Providers()
    accounts = RpcClient("accounts")
    config = Config()

    @property
    def settings(self) -> Any:
        return self.config["CRM"]

    # -- credits --------------------------------------------------------------

    @rpc
    def purchase_credits(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add bought credits to the organisation's ledger (admin). A reference is used once:
        the same reference and credits again is a replay (``created`` false)."""
        caller = self.caller.admin_writer()
        request = validate(CreditPurchase, data)

        def purchase() -> tuple[dict[str, Any], bool]:
            with self.db.transaction() as uow:
                return credit_ledger.purchase(uow.session, caller, request)

        entry, created = once_more_on_conflict(purchase)
        return {**entry, "created": created}

    @rpc
    def get_credits(self, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """The balance (the sum of the ledger) and the ledger, newest first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return credit_ledger.entries_page(session, caller.org_id, limit, cursor)

    # -- authorization codes --------------------------------------------------

    @rpc
    def issue_authorization_code(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new SMS authorization code for a user of the organisation (admin). The answer
        holds the code; it is never shown again."""
        caller = self.caller.admin_writer()
        request = validate(AuthorizationCodeCreate, data)
        self.accounts.get_user(request.user_id)  # not found unless a user of the caller's organisation
        with self.db.transaction() as uow:
            return authorization_codes.issue(uow.session, caller, request)

    @rpc
    def list_authorization_codes(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Codes of the organisation (admin), or the caller's own (member); never the codes themselves."""
        caller = self.caller.user()
        with self.db.read() as session:
            return authorization_codes.list_codes(
                session, caller.org_id, user_id if caller.is_admin else caller.user_id
            )

    @rpc
    def revoke_authorization_code(self, code_id: str) -> dict[str, Any]:
        """Revoke a code (admin); sends with it are refused from now on."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            return authorization_codes.revoke(uow.session, caller, code_id)

    # -- SMS ------------------------------------------------------------------

    @rpc
    def send_sms(self, data: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Send an SMS with the caller's authorization code, spending one credit per segment.

        A wrong, expired or revoked code, or too few credits, sends nothing and
        spends nothing. A request repeated with the same idempotency key returns
        the first answer (``created`` false) and sends nothing more. A message
        the provider does not take is failed and refunded (and, when it may take
        it later, its idempotency key is freed for the retry). A message the
        provider did not answer for stays ``sending``, its credits held: it may
        have gone out, and its callbacks or the check for interrupted sends say.
        """
        caller = self.caller.writer()
        request = validate(SmsSend, data)
        messaging = self.settings.messaging
        return sms.send(
            self.db,
            self.providers.sms,
            caller,
            request,
            idempotency_key,
            region=self.settings.contacts.default_phone_region,
            sender=messaging.twilio.sender,
            max_segments=messaging.sms_max_segments,
            webhook_base_url=self.settings.webhook_base_url(),
        )

    @rpc
    def get_sms(self, sms_id: str) -> dict[str, Any]:
        """One SMS (members see their own, admins every one of the organisation)."""
        caller = self.caller.user()
        with self.db.read() as session:
            return sms.sms_out(sms.sms_of(session, caller, sms_id))

    # -- e-mail ---------------------------------------------------------------

    @rpc
    def get_email_settings(self) -> dict[str, Any]:
        """The organisation's e-mail provider, fallback provider and sender."""
        caller = self.caller.user()
        with self.db.read() as session:
            return emails.settings_out(emails.settings_of(session, caller.org_id))

    @rpc
    def update_email_settings(self, data: dict[str, Any]) -> dict[str, Any]:
        """Choose the provider, an optional fallback and the sender (admin)."""
        caller = self.caller.admin_writer()
        request = validate(EmailSettingsUpdate, data)
        with self.db.transaction() as uow:
            return emails.update_settings(uow.session, caller, request)

    @rpc
    def send_email(self, data: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Send one e-mail to one recipient through the organisation's provider, or its
        fallback when the provider fails. A suppressed recipient is refused; a request
        repeated with the same idempotency key returns the first answer (``created`` false)."""
        caller = self.caller.writer()
        request = validate(EmailSend, data)
        return emails.send(
            self.db,
            self.providers.email,
            caller,
            request,
            idempotency_key,
            max_attachment_bytes=self.settings.messaging.email_max_attachment_bytes,
        )

    @rpc
    def get_email(self, message_id: str) -> dict[str, Any]:
        """One e-mail with its timeline of provider events, in the order they happened."""
        caller = self.caller.user()
        with self.db.read() as session:
            message = emails.email_of(session, caller, message_id)
            return {**emails.email_out(message), "timeline": emails.timeline(session, message.id)}

    @rpc
    def list_suppressions(self) -> list[dict[str, Any]]:
        """Addresses the organisation's e-mail will not go to, and why."""
        caller = self.caller.user()
        with self.db.read() as session:
            return suppressions.list_suppressions(session, caller.org_id)

    @rpc
    def lift_suppression(self, email: str) -> None:
        """Take an address off the suppression list (admin)."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            suppressions.lift(uow.session, caller.org_id, email)

    # -- provider events ------------------------------------------------------

    @rpc
    def record_provider_events(self, events: list[dict[str, Any]]) -> dict[str, int]:
        """Store verified provider events (the gateway checked their signature); events
        seen before are skipped. They are applied to their messages shortly after, each
        only if it moves its message forward; a Mailjet event stamped outside
        ``messaging.webhook_max_age_seconds`` is stored and never applied."""
        max_age = self.settings.messaging.webhook_max_age_seconds
        with self.db.transaction() as uow:
            return provider_events.store(uow.session, events, max_age)

    @timer(interval=0.2)
    def apply_provider_events(self) -> None:
        """Apply stored provider events to their messages, a batch per transaction."""
        batch = self.settings.messaging.event_batch_size
        while True:
            with self.db.transaction() as uow:
                handled = provider_events.apply_pending(uow, batch)
            if handled < batch:
                return

    @timer(interval=60)
    def fail_interrupted_sends(self) -> None:
        """Fail and refund messages whose send stopped before the provider answered."""
        messaging = self.settings.messaging
        while True:
            with self.db.transaction() as uow:
                handled = interrupted.fail_interrupted(
                    uow, messaging.interrupted_send_seconds, messaging.event_batch_size
                )
            if handled == 0:
                return

    # -- reports --------------------------------------------------------------

    @rpc
    def email_report(self, query: dict[str, Any]) -> dict[str, Any]:
        """Deliverability: sent, delivered, opened, clicked, bounced, complained, with rates,
        in total and by recipient domain. Members see their own messages only."""
        caller = self.caller.user()
        request = validate(ReportQuery, query)
        with self.db.read() as session:
            return reports.email_report(session, caller, request)

    @rpc
    def sms_report(self, query: dict[str, Any]) -> dict[str, Any]:
        """SMS per user with the credits used (refunds deducted). Members see their own only."""
        caller = self.caller.user()
        request = validate(ReportQuery, query)
        with self.db.read() as session:
            return reports.sms_report(session, caller, request)
