"""The records as callers and events see them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.contacts import shapes
from services.contacts.models import Company, Employment

MAGASIN = Company(id="c1", org_id="org-pomme", name="Pomme Magasin", group_name="Pomme")


def _employment(
    employment_id: str, start_date: date | None, created_at: datetime
) -> tuple[Employment, Company]:
    employment = Employment(
        id=employment_id, company_id=MAGASIN.id, start_date=start_date, created_at=created_at, version=1
    )
    return employment, MAGASIN


def test_the_history_lists_the_latest_start_first_and_unknown_starts_last():
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 2, 1, tzinfo=UTC)
    history = [
        _employment("sans-date", None, later),
        _employment("2019", date(2019, 9, 1), earlier),
        _employment("2024-premier", date(2024, 3, 1), earlier),
        _employment("2024-second", date(2024, 3, 1), later),
    ]

    assert [entry["id"] for entry in shapes.history_out(history)] == [
        "2024-second",
        "2024-premier",
        "2019",
        "sans-date",
    ]


def test_times_are_sent_in_utc_and_dates_as_they_are():
    employment, company = _employment("e1", date(2024, 3, 1), datetime(2026, 1, 1, 10, tzinfo=UTC))

    out = shapes.employment_out(employment, company)

    assert (out["start_date"], out["created_at"]) == ("2024-03-01", "2026-01-01T10:00:00+00:00")
    assert out["company"] == {"id": "c1", "name": "Pomme Magasin", "group": "Pomme", "deleted": False}
