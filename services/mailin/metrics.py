"""mailin's business figures for Prometheus.

Read from its database at the scrape:

- ``crm_mail_ingested_total{source}``: messages stored, by how they came (``smtp``, ``imap``);
  a message for several users is one. It counts every stored message (through an index that
  holds only their source), so it is read at most once a minute.
- ``crm_mail_pending``: deliveries (a message for one user) stored and not processed yet,
  those waiting to be tried again included (their partial index holds only these).
- ``crm_imap_mailboxes_failing``: mailboxes whose last check failed, of users not deactivated.

Counted by the process that does the work:

- ``crm_imap_checks_total{outcome}``: checks of a mailbox that ran, ``ok`` or ``failure``
  (the server, the password, the folder... as the mailbox then shows; ``checks.py``).
- ``crm_mail_failed_total``: attempts to process a stored message that failed (it stays
  pending and is tried again, backing off; ``processing.py``).
"""

from __future__ import annotations

from prometheus_client import Counter
from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, func, select

from crm.figures import StoredFigures, counter, gauge
from services.mailin.ingest_addresses import deactivated
from services.mailin.models import PENDING, Delivery, Mailbox, RawMessage

SOURCES = ("smtp", "imap")
OK, FAILURE = "ok", "failure"

imap_checks = Counter("crm_imap_checks_total", "Checks of an IMAP mailbox, by outcome", ["outcome"])
mail_failed = Counter(
    "crm_mail_failed_total", "Attempts to process a stored mail that failed (it is tried again later)"
)
for _outcome in (OK, FAILURE):
    imap_checks.labels(_outcome)


def collectors(engine: Engine) -> list[StoredFigures]:
    return [MailWaiting(engine), MailIngested(engine)]


class MailWaiting(StoredFigures):
    """What waits: deliveries pending, mailboxes failing (small counts, each through its index)."""

    def families(self) -> list[Metric]:
        return [
            gauge("crm_mail_pending", "Mail stored and not processed yet (one per user it is for)"),
            gauge("crm_imap_mailboxes_failing", "IMAP mailboxes whose last check failed"),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        pending, failing = self.families()
        pending.add_metric([], connection.scalar(select(func.count()).where(Delivery.status == PENDING)))
        failing_now = select(func.count()).where(
            Mailbox.last_error_code.is_not(None), ~deactivated(Mailbox.user_id)
        )
        failing.add_metric([], connection.scalar(failing_now))
        return [pending, failing]


class MailIngested(StoredFigures):
    refresh_seconds = 60

    def families(self) -> list[Metric]:
        return [counter("crm_mail_ingested", "Mail stored by the CRM, by source (smtp, imap)", ["source"])]

    def read(self, connection: Connection) -> list[Metric]:
        (ingested,) = self.families()
        query = select(RawMessage.source, func.count()).group_by(RawMessage.source)
        by_source = {source: 0 for source in SOURCES} | dict(connection.execute(query).tuples().all())
        for source, count in by_source.items():
            ingested.add_metric([source], count)
        return [ingested]
