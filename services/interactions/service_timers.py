"""Entrypoints for timers and time entries: one running timer per user, totals per interaction,
project or user. Mixed into ``InteractionsService``, whose dependencies they use.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.interactions import timers
from services.interactions.timer_schemas import TimeTotalsQuery


class TimerEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    caller_users: Any

    @rpc
    def start_timer(self, interaction_id: str) -> dict[str, Any]:
        """Start the caller's timer on the interaction. One timer per user: another one running
        is a conflict naming its interaction."""
        caller = self.caller.writer()
        with self.db.transaction() as uow:
            return timers.start(uow, caller, interaction_id)

    @rpc
    def stop_timer(self) -> dict[str, Any]:
        """Stop the caller's timer and book the time entry, costed at the caller's hourly cost now
        (no hourly cost: no cost). No timer running is a conflict, and changes nothing."""
        caller = self.caller.writer()
        hourly_cost = self.caller_users.of(caller, self.accounts).get("hourly_cost")
        with self.db.transaction() as uow:
            return timers.stop(uow, caller, hourly_cost)

    @rpc
    def get_timer(self) -> dict[str, Any]:
        """The caller's running timer (``timer`` null when none runs)."""
        caller = self.caller.user()
        with self.db.read() as session:
            return timers.running(session, caller)

    @rpc
    def time_totals(self, query: dict[str, Any]) -> dict[str, Any]:
        """Seconds and costs per currency booked on an interaction, a project or by a user
        (exactly one of ``interaction_id``, ``project_id``, ``user_id``)."""
        caller = self.caller.user()
        request = validate(TimeTotalsQuery, query)
        with self.db.read() as session:
            return timers.totals(session, caller, request)
