"""What an import job remembers between batches, and what a batch reports.

The organisation's companies and interests are loaded once per run and kept
up to date as batches commit; in a dry run, which writes nothing, they also
hold what earlier batches would have created, so that later rows count as
they would in the real run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.contacts import search_text
from services.contacts.csv.rows import RowProblem
from services.contacts.models import Company, Interest


@dataclass(frozen=True)
class KnownCompany:
    """A company rows may be employed at. ``virtual``: only a dry run's earlier batch made it."""

    id: str
    name: str
    group_name: str | None
    virtual: bool = False
    deleted_at: datetime | None = None


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    new_companies: dict[str, KnownCompany] = field(default_factory=dict)
    new_interests: dict[str, str] = field(default_factory=dict)
    new_emails: set[str] = field(default_factory=set)
    new_work_emails: set[str] = field(default_factory=set)

    def merge(self, other: BatchOutcome) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.problems += other.problems
        self.new_companies.update(other.new_companies)
        self.new_interests.update(other.new_interests)
        self.new_emails |= other.new_emails
        self.new_work_emails |= other.new_work_emails


@dataclass
class ImportMemory:
    """The organisation's companies (by folded name) and interests (by name key), kept up to date
    as batches commit; in a dry run, also what earlier batches would have created."""

    companies: dict[str, KnownCompany]
    interests: dict[str, tuple[str, bool]]
    planned_emails: set[str] = field(default_factory=set)
    planned_work_emails: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, org_id: str) -> ImportMemory:
        companies: dict[str, KnownCompany] = {}
        rows = session.execute(
            select(Company.id, Company.name, Company.group_name)
            .where(Company.org_id == org_id, Company.deleted_at.is_(None))
            .order_by(Company.created_at, Company.id)
        )
        for company_id, name, group_name in rows:
            companies.setdefault(search_text.fold(name), KnownCompany(company_id, name, group_name))
        found = session.execute(
            select(Interest.id, Interest.name_key).where(
                Interest.org_id == org_id, Interest.deleted_at.is_(None)
            )
        )
        return cls(companies, {key: (interest_id, False) for interest_id, key in found})

    def absorb(self, outcome: BatchOutcome, dry_run: bool) -> None:
        """Remember what a batch created (in a dry run: would have created)."""
        for key, company in outcome.new_companies.items():
            self.companies[key] = KnownCompany(company.id, company.name, company.group_name, virtual=dry_run)
        for key, interest_id in outcome.new_interests.items():
            self.interests[key] = (interest_id, dry_run)
        if dry_run:
            self.planned_emails |= outcome.new_emails
            self.planned_work_emails |= outcome.new_work_emails


@dataclass(frozen=True)
class ImportContext:
    org_id: str
    actor_id: str
    region: str
    dry_run: bool
    header_of: dict[str, str]
    now: datetime
    today: date
