"""sync: the mobile replica of each user's scope, pulled and pushed by WatermelonDB. Entrypoints only.

The owning services' events keep sync's replica (``feed.py``); a pull computes
the user's scope now and answers what changed for their phone (``pull.py``);
a push applies the phone's changes through the owning services' RPCs with the
caller's token (``pushing.py``). docs/sync.md is the contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from eventlet.semaphore import Semaphore
from nameko.dependency_providers import Config
from sqlalchemy import Engine, select

from crm.auth import CallerProvider
from crm.database import Database, once_more_on_conflict
from crm.errors import InvalidInput, field_error
from crm.events import durable_event_handler
from crm.group_apply import GroupApply
from crm.health import Pingable
from crm.rpc import RpcClient, rpc
from crm.times import utcnow
from crm.validation import validate
from services.sync import devices, feed, feed_groups, metrics, pull, pushing
from services.sync import records as r
from services.sync.feed_groups import FeedEvent
from services.sync.models import Base, ReplicaRecord
from services.sync.schemas import AlertQuery, Device, PullQuery, PushBody
from services.sync.scope import Windows
from services.sync.service_address_book import AddressBookEntrypoints
from services.sync.service_calendar import CalendarFeedEntrypoints
from services.sync.service_google import GoogleContactsEntrypoints

import services.contacts.exceptions  # noqa: F401, E402  isort: skip  (their errors cross RPC as themselves)
import services.interactions.exceptions  # noqa: F401, E402  isort: skip

ACCOUNTS, CONTACTS, INTERACTIONS, GATEWAY = "accounts", "contacts", "interactions", "gateway"
# Tables a web user "touches" by creating or changing (or viewing) a record there.
TOUCHED_BY_EVENT = {
    "company": r.COMPANIES,
    "contact": r.CONTACTS,
    "interaction": r.INTERACTIONS,
    "project": r.PROJECTS,
}


log = logging.getLogger(__name__)


class SyncService(CalendarFeedEntrypoints, AddressBookEntrypoints, GoogleContactsEntrypoints, Pingable):
    name = "sync"

    db = Database(Base.metadata)
    caller = CallerProvider()
    # Organisations whose types and users this process has seen in the replica (never forgotten:
    # once there, events keep them).
    known_orgs: set[str] = set()
    config = Config()
    accounts = RpcClient(ACCOUNTS)
    contacts = RpcClient(CONTACTS)
    interactions = RpcClient(INTERACTIONS)
    # The change-feed transactions this process lets run at once (``sync.feed_concurrency``).
    feed_gates: dict[int, Semaphore] = {}
    # The events' change-feed transactions of each container (by its engine), grouped.
    feed_groups: WeakKeyDictionary[Engine, GroupApply[FeedEvent]] = WeakKeyDictionary()

    @property
    def settings(self) -> Any:
        return self.config["CRM"].sync

    def _now(self) -> datetime:
        """The clock; ``sync.clock_offset_file`` moves it for tests and demos."""
        path = self.settings.clock_offset_file
        if not path:
            return utcnow()
        try:
            return utcnow() + timedelta(seconds=float(Path(path).read_text().strip() or 0))
        except (OSError, ValueError):
            return utcnow()

    def _windows(self) -> Windows:
        s = self.settings
        return Windows(s.interactions_past_days, s.interactions_future_days, s.project_days, s.touched_days)

    # -- the phone's two calls ----------------------------------------------------------------------

    @rpc
    @metrics.counted(metrics.pulls)
    def pull(self, device: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
        """What changed in the caller's scope since ``last_pulled_at`` (everything on a first
        pull), as WatermelonDB's ``{changes, timestamp}``, in ``body`` as JSON text."""
        caller = self.caller.user()
        phone, request = validate(Device, device), validate(PullQuery, query)
        self._know_org_tables(caller.org_id)
        migration = None
        if (asked := request.migration_asked()) is not None:
            migration = pull.Migration(tuple(asked.tables), tuple(c.table for c in asked.columns))
        now = self._now()

        def transaction() -> tuple[str, int, int]:
            with self.db.transaction() as uow:
                answer = pull.pull(
                    uow.session,
                    caller.org_id,
                    caller.user_id,
                    now,
                    self._windows(),
                    request.last_pulled_at,
                    migration,
                )
                device_row = devices.device_of(
                    uow.session, caller.org_id, caller.user_id, phone.device_id, phone.app_version, utcnow()
                )
                device_row.pulls += 1
                device_row.last_pull_at, device_row.last_pulled_seq = utcnow(), answer[1]
                return answer

        body, timestamp, count = once_more_on_conflict(transaction)
        return {"body": body, "timestamp": timestamp, "records": count}

    @rpc
    @metrics.counted(metrics.pushes)
    def push(self, device: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Apply the phone's changes through the services that own them. A record changed on the
        server since ``last_pulled_at`` refuses the whole push (``SyncConflict``); a change the
        user may not make is refused alone, listed in ``rejected`` and kept as an alert."""
        caller = self.caller.user()
        phone, request = validate(Device, device), validate(PushBody, body)
        if request.count > self.settings.max_push_changes:
            limit = self.settings.max_push_changes
            raise InvalidInput(
                f"changes: a push carries at most {limit} changes; push in parts",
                [field_error("changes", f"at most {limit} changes")],
            )
        call = self._caller_of_services()
        result = pushing.run_push(
            self.db, call, caller, phone.model_dump(), request.as_plain(), request.last_pulled_at, utcnow
        )
        return result.answer()

    def _caller_of_services(self) -> Callable[..., Any]:
        clients = {CONTACTS: self.contacts, INTERACTIONS: self.interactions}

        def call(service: str, method: str, *args: Any) -> Any:
            return getattr(clients[service], method)(*args)

        return call

    def _know_org_tables(self, org_id: str) -> None:
        """Interaction types and users of an organisation sync began with no event of: read once."""
        if org_id in self.known_orgs:
            return
        with self.db.read() as session:
            known = set(
                session.scalars(
                    select(ReplicaRecord.table_name)
                    .where(ReplicaRecord.org_id == org_id, ReplicaRecord.table_name.in_(r.ORG_WIDE_TABLES))
                    .distinct()
                )
            )
        if r.INTERACTION_TYPES not in known:
            types = self.interactions.list_types()
            self._in_feed(org_id, lambda f: feed.apply_interaction_types(f, types, 1))
        if r.USERS not in known:
            users, cursor = [], None
            while True:
                page = self.accounts.list_users(limit=200, cursor=cursor, include_inactive=True)
                users.extend(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            self._in_feed(org_id, lambda f: [feed.apply_user(f, user) for user in users])
        self.known_orgs.add(org_id)

    def _in_feed(self, org_id: str, apply: Callable[[feed.Feed], Any]) -> None:
        def transaction() -> None:
            with self.db.transaction() as uow:
                apply(feed.Feed(uow.session, org_id))

        self._feed_transaction(transaction)

    def _feed_transaction(self, transaction: Callable[[], None]) -> None:
        """Run a change-feed transaction when one of the process's ``feed_concurrency`` turns is
        free. Such transactions hold the change counter's row lock (``replica.next_seq``) from
        their first change to their commit, so they run one after another anyway: the events'
        handlers (up to ``bus.max_workers`` of them) each waited on that lock holding a database
        connection, and a phone's pull found none left (bench/capacity.md)."""
        limit = self.settings.feed_concurrency
        gate = self.feed_gates.setdefault(limit, Semaphore(limit))
        with gate:
            once_more_on_conflict(transaction)

    # -- alerts and devices --------------------------------------------------------------------------

    @rpc
    def list_alerts(self, query: dict[str, Any]) -> dict[str, Any]:
        """The caller's sync alerts (refused changes), newest first."""
        caller = self.caller.user()
        request = validate(AlertQuery, query)
        with self.db.read() as session:
            return {"alerts": devices.alerts_of(session, caller.user_id, request.unread, request.limit)}

    @rpc
    def mark_alert_read(self, alert_id: str) -> dict[str, Any]:
        """Mark one of the caller's alerts read (a read-only user may: it changes no CRM data)."""
        caller = self.caller.user()
        with self.db.transaction() as uow:
            return devices.mark_read(uow.session, caller.user_id, alert_id, utcnow())

    @rpc
    def list_devices(self) -> dict[str, Any]:
        """Admin: every device of the organisation, failing ones first."""
        caller = self.caller.admin()
        with self.db.read() as session:
            return {"devices": devices.devices_of(session, caller.org_id)}

    # -- the change feed -----------------------------------------------------------------------------

    def _apply(
        self, payload: dict[str, Any], consumer: str, apply: Callable[[feed.Feed, dict[str, Any]], Any]
    ) -> None:
        """Apply the event with those that arrive while a change-feed transaction is in flight,
        in the next one (``crm.group_apply``): one BEGIN, sequence and COMMIT for them all."""
        group = self.feed_groups.setdefault(self.db.engine, GroupApply())
        group.apply((payload, consumer, apply), self._apply_group)

    def _apply_group(self, events: list[FeedEvent]) -> None:
        """The group's events in one transaction (``feed_groups.apply_events``)."""

        def transaction() -> None:
            with self.db.transaction() as uow:
                feed_groups.apply_events(uow.session, events, self._touch)

        self._feed_transaction(transaction)

    def _touch(self, changes: feed.Feed, payload: dict[str, Any], consumer: str) -> None:
        kind, _, what = consumer.partition("_")
        actor = payload.get("actor_id")
        if actor and kind in TOUCHED_BY_EVENT and what in ("created", "updated"):
            at = datetime.fromisoformat(payload["occurred_at"])
            feed.apply_touch(changes, actor, TOUCHED_BY_EVENT[kind], payload["record"]["id"], at)

    @durable_event_handler(CONTACTS, "company_created")
    def on_company_created(self, payload: dict[str, Any]) -> None:
        """Into the replica; the acting user's phone takes it (touched). Once per event."""
        self._apply(payload, "company_created", lambda f, rec: feed.apply_company(f, rec, False))

    @durable_event_handler(CONTACTS, "company_updated")
    def on_company_updated(self, payload: dict[str, Any]) -> None:
        """The replica takes the newer version (an older one changes nothing). Once per event."""
        self._apply(payload, "company_updated", lambda f, rec: feed.apply_company(f, rec, False))

    @durable_event_handler(CONTACTS, "company_deleted")
    def on_company_deleted(self, payload: dict[str, Any]) -> None:
        """Leaves every scope: phones get it as deleted. Once per event."""
        self._apply(payload, "company_deleted", lambda f, rec: feed.apply_company(f, rec, True))

    @durable_event_handler(CONTACTS, "contact_created")
    def on_contact_created(self, payload: dict[str, Any]) -> None:
        """The contact and its employments into the replica. Once per event."""
        self._apply(payload, "contact_created", lambda f, rec: feed.apply_contact(f, rec, False))

    @durable_event_handler(CONTACTS, "contact_updated")
    def on_contact_updated(self, payload: dict[str, Any]) -> None:
        """The contact and its employments, as they now are. Once per event."""
        self._apply(payload, "contact_updated", lambda f, rec: feed.apply_contact(f, rec, False))

    @durable_event_handler(CONTACTS, "contact_deleted")
    def on_contact_deleted(self, payload: dict[str, Any]) -> None:
        """Leaves every scope with its employments. Once per event."""
        self._apply(payload, "contact_deleted", lambda f, rec: feed.apply_contact(f, rec, True))

    @durable_event_handler(INTERACTIONS, "interaction_created")
    def on_interaction_created(self, payload: dict[str, Any]) -> None:
        """Into the scope of its owner and participants (not the refused). Once per event."""
        self._apply(payload, "interaction_created", feed.apply_interaction)

    @durable_event_handler(INTERACTIONS, "interaction_updated")
    def on_interaction_updated(self, payload: dict[str, Any]) -> None:
        """Its links and people follow (a moved date can take it out of a scope). Once per event."""
        self._apply(payload, "interaction_updated", feed.apply_interaction)

    @durable_event_handler(INTERACTIONS, "interaction_deleted")
    def on_interaction_deleted(self, payload: dict[str, Any]) -> None:
        """Archived: leaves every scope (a restore's newer version brings it back). Once per event."""
        self._apply(payload, "interaction_deleted", feed.apply_interaction_deleted)

    @durable_event_handler(INTERACTIONS, "interaction_purged")
    def on_interaction_purged(self, payload: dict[str, Any]) -> None:
        """Deleted for good. Once per event."""
        self._apply(
            payload, "interaction_purged", lambda f, rec: feed.apply_interaction_deleted(f, rec, True)
        )

    @durable_event_handler(INTERACTIONS, "participant_invited")
    def on_participant_invited(self, payload: dict[str, Any]) -> None:
        """The invitee's phone takes the interaction. Once per event."""
        self._apply(payload, "participant_invited", lambda f, rec: feed.apply_participant(f, rec, False))

    @durable_event_handler(INTERACTIONS, "participant_confirmed")
    def on_participant_confirmed(self, payload: dict[str, Any]) -> None:
        """The participant's status follows. Once per event."""
        self._apply(payload, "participant_confirmed", lambda f, rec: feed.apply_participant(f, rec, False))

    @durable_event_handler(INTERACTIONS, "participant_refused")
    def on_participant_refused(self, payload: dict[str, Any]) -> None:
        """A refused invitation leaves the invitee's phone. Once per event."""
        self._apply(payload, "participant_refused", lambda f, rec: feed.apply_participant(f, rec, False))

    @durable_event_handler(INTERACTIONS, "participant_removed")
    def on_participant_removed(self, payload: dict[str, Any]) -> None:
        """The removed user's phone lets the interaction go. Once per event."""
        self._apply(payload, "participant_removed", lambda f, rec: feed.apply_participant(f, rec, True))

    @durable_event_handler(INTERACTIONS, "interaction_note_added")
    def on_note_added(self, payload: dict[str, Any]) -> None:
        """Notes travel with their interaction. Once per event."""
        self._apply(payload, "interaction_note_added", feed.apply_note)

    @durable_event_handler(INTERACTIONS, "interaction_document_added")
    def on_document_added(self, payload: dict[str, Any]) -> None:
        """Document metadata (never the bytes) travels with its interaction. Once per event."""
        self._apply(payload, "interaction_document_added", feed.apply_document)

    @durable_event_handler(INTERACTIONS, "interaction_checked_in")
    def on_checked_in(self, payload: dict[str, Any]) -> None:
        """A visit started travels with its interaction. Once per event."""
        self._apply(payload, "interaction_checked_in", feed.apply_check_in)

    @durable_event_handler(INTERACTIONS, "interaction_checked_out")
    def on_checked_out(self, payload: dict[str, Any]) -> None:
        """The visit's end and duration. Once per event."""
        self._apply(payload, "interaction_checked_out", feed.apply_check_in)

    @durable_event_handler(INTERACTIONS, "project_created")
    def on_project_created(self, payload: dict[str, Any]) -> None:
        """Into the scope of its users for 90 days. Once per event."""
        self._apply(payload, "project_created", lambda f, rec: feed.apply_project(f, rec, _micros(payload)))

    @durable_event_handler(INTERACTIONS, "project_updated")
    def on_project_updated(self, payload: dict[str, Any]) -> None:
        """Its links and users follow. Once per event."""
        self._apply(payload, "project_updated", lambda f, rec: feed.apply_project(f, rec, _micros(payload)))

    @durable_event_handler(INTERACTIONS, "project_deleted")
    def on_project_deleted(self, payload: dict[str, Any]) -> None:
        """Archived: leaves every scope. Once per event."""
        self._apply(payload, "project_deleted", feed.apply_project_deleted)

    @durable_event_handler(INTERACTIONS, "project_purged")
    def on_project_purged(self, payload: dict[str, Any]) -> None:
        """Deleted for good. Once per event."""
        self._apply(payload, "project_purged", lambda f, rec: feed.apply_project_deleted(f, rec, True))

    @durable_event_handler(CONTACTS, "company_purged")
    def on_company_purged(self, payload: dict[str, Any]) -> None:
        """Deleted for good, with its employments. Once per event."""
        self._apply(payload, "company_purged", lambda f, rec: feed.apply_purged(f, r.COMPANIES, rec["id"]))

    @durable_event_handler(CONTACTS, "contact_purged")
    def on_contact_purged(self, payload: dict[str, Any]) -> None:
        """Deleted for good, with its employments. Once per event."""
        self._apply(payload, "contact_purged", lambda f, rec: feed.apply_purged(f, r.CONTACTS, rec["id"]))

    @durable_event_handler(ACCOUNTS, "user_created")
    def on_user_created(self, payload: dict[str, Any]) -> None:
        """A colleague's name for every phone of the organisation. Once per event."""
        self._apply(payload, "user_created", feed.apply_user)

    @durable_event_handler(ACCOUNTS, "user_updated")
    def on_user_updated(self, payload: dict[str, Any]) -> None:
        """A renamed colleague. Once per event."""
        self._apply(payload, "user_updated", feed.apply_user)

    @durable_event_handler(GATEWAY, "record_viewed")
    def on_record_viewed(self, payload: dict[str, Any]) -> None:
        """A record a user opened on the web goes to their phone at the next pull. Once per event."""
        record = payload["record"]
        table = record.get("table")
        if table not in TOUCHED_BY_EVENT.values() or not payload.get("actor_id"):
            return

        actor, at = payload["actor_id"], datetime.fromisoformat(payload["occurred_at"])
        self._apply(payload, "record_viewed", lambda f, rec: feed.apply_touch(f, actor, table, rec["id"], at))


def _micros(payload: dict[str, Any]) -> int:
    """Projects carry no version: the event's time orders them."""
    return int(datetime.fromisoformat(payload["occurred_at"]).timestamp() * 1_000_000)
