"""What the time totals accept."""

from __future__ import annotations

from crm.validation import Id, QueryInput


class TimeTotalsQuery(QueryInput):
    """One of the three."""

    interaction_id: Id | None = None
    project_id: Id | None = None
    user_id: Id | None = None
