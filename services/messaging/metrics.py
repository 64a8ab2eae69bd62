"""messaging's business figures for Prometheus, read from its database at each scrape.

- ``crm_sms_credits_balance{organisation}``: each organisation's balance (one row each in
  ``credit_accounts``; only organisations that ever bought credits have one).
- ``crm_sms_credits_spent_total``: credits SMS sends took (the ledger's debits). A failed
  SMS's refund does not lower it (a counter only grows); it shows in the balance.
- ``crm_messages_total{channel,provider,status}``: messages by the status they are in now.
- ``crm_message_domain_total{channel,domain,status}``: e-mail by recipient domain, the 20
  domains with the most messages by name, the rest as ``other``.

The last two count messages where they are now, so the value of an intermediate status
falls as messages move on (``sent`` to ``delivered`` to ``opened``); their sum over statuses
only grows. They aggregate the whole message tables, through indexes that hold the grouped
columns (an index-only scan), and are read at most once a minute.
"""

from __future__ import annotations

from collections import defaultdict

from prometheus_client.core import Metric
from sqlalchemy import Connection, Engine, Select, case, func, literal, select

from crm.figures import StoredFigures, counter, gauge
from services.messaging.models import CreditAccount, CreditEntry, EmailMessage, SmsMessage

TOP_DOMAINS = 20
OTHER_DOMAIN = "other"


def collectors(engine: Engine) -> list[StoredFigures]:
    return [CreditFigures(engine), MessageFigures(engine)]


class CreditFigures(StoredFigures):
    """Balances and spending, from the few rows the ledger's partial indexes reach."""

    def families(self) -> list[Metric]:
        return [
            gauge("crm_sms_credits_balance", "SMS credits an organisation has left", ["organisation"]),
            counter("crm_sms_credits_spent", "SMS credits taken by sends (refunds not subtracted)"),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        balance, spent = self.families()
        for org_id, credits in connection.execute(select(CreditAccount.org_id, CreditAccount.balance)):
            balance.add_metric([org_id], credits)
        spent.add_metric([], connection.scalar(_SPENT))
        return [balance, spent]


def _ledger_sum(kind: str) -> Select:
    return select(func.coalesce(func.sum(CreditEntry.credits), 0)).where(CreditEntry.kind == kind)


# Every balance is its ledger's sum (purchases + refunds - debits, kept in step in one
# transaction), so the debits are purchases + refunds - balances: purchases and refunds are a
# few rows each behind their partial indexes, balances one row per organisation, where summing
# the debits would read one ledger row per SMS ever sent. One statement: one snapshot.
_SPENT = select(
    _ledger_sum("purchase").scalar_subquery()
    + _ledger_sum("refund").scalar_subquery()
    - select(func.coalesce(func.sum(CreditAccount.balance), 0)).scalar_subquery()
)


class MessageFigures(StoredFigures):
    """SMS and e-mail by provider and status, and e-mail by recipient domain."""

    refresh_seconds = 60

    def families(self) -> list[Metric]:
        return [
            counter(
                "crm_messages",
                "Messages by channel, provider and the status they are in now",
                ["channel", "provider", "status"],
            ),
            counter(
                "crm_message_domain",
                f"E-mail by recipient domain (the {TOP_DOMAINS} largest, the rest as 'other') and status",
                ["channel", "domain", "status"],
            ),
        ]

    def read(self, connection: Connection) -> list[Metric]:
        messages, domains = self.families()
        sms = SmsMessage.provider, SmsMessage.status
        for provider, status, count in connection.execute(select(*sms, func.count()).group_by(*sms)):
            messages.add_metric(["sms", provider, status], count)
        by_provider: dict[tuple[str, str], int] = defaultdict(int)
        by_domain: dict[tuple[str, str], int] = defaultdict(int)
        for domain, status, provider, count in connection.execute(_emails_by(_top_domains(connection))):
            by_provider[provider, status] += count
            by_domain[domain, status] += count
        for (provider, status), count in sorted(by_provider.items()):
            messages.add_metric(["email", provider, status], count)
        for (domain, status), count in sorted(by_domain.items()):
            domains.add_metric(["email", domain, status], count)
        return [messages, domains]


def _top_domains(connection: Connection) -> list[str]:
    query = (
        select(EmailMessage.to_domain)
        .group_by(EmailMessage.to_domain)
        .order_by(func.count().desc(), EmailMessage.to_domain)
        .limit(TOP_DOMAINS)
    )
    return list(connection.scalars(query))


def _emails_by(top: list[str]) -> Select:
    """(domain or 'other', status, provider, count): one pass over the index that holds all three."""
    email = EmailMessage
    domain = case((email.to_domain.in_(top), email.to_domain), else_=literal(OTHER_DOMAIN)).label("domain")
    tagged = select(domain, email.status, email.provider).subquery()
    columns = (tagged.c.domain, tagged.c.status, tagged.c.provider)
    return select(*columns, func.count()).group_by(*columns)
