"""What a notification says, where it points and what it offers to do.

Times are written in UTC: the notifier does not know its users' time zones, and
clients that want local time follow ``link`` to the interaction. An all-day
interaction is written by its date alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from crm.times import as_utc
from services.notifier.schemas import InteractionSummary

API = "/api/v1"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TYPE_NAME = re.compile(r"^[a-z][a-z_]{0,39}$")
_SUBJECT_IN_TITLE = 150


@dataclass(frozen=True)
class Wording:
    title: str
    body: str
    link: str
    actions: list[dict[str, Any]]


def interaction_link(interaction_id: str) -> str:
    return f"{API}/interactions/{quote(interaction_id, safe='')}"


def invitation_actions(interaction_id: str) -> list[dict[str, Any]]:
    me = f"{interaction_link(interaction_id)}/participants/me"
    return [
        {"name": "accept", "method": "POST", "href": f"{me}/accept"},
        {"name": "refuse", "method": "POST", "href": f"{me}/refuse"},
    ]


def when(interaction: InteractionSummary) -> str:
    """Like ' on Tue 24 Nov 2026 at 09:30 UTC'; the date alone when all day; empty with no start."""
    start = interaction.start_at
    if start is None:
        return ""
    if not interaction.all_day:
        start = as_utc(start)
    day = f"{_WEEKDAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]} {start.year}"
    return f" on {day}" if interaction.all_day else f" on {day} at {start:%H:%M} UTC"


def _noun(interaction: InteractionSummary) -> str:
    """The interaction's type in words: "meeting", "sales opportunity", else "interaction"."""
    return interaction.type.replace("_", " ") if _TYPE_NAME.match(interaction.type) else "interaction"


def _short(subject: str) -> str:
    subject = " ".join(subject.split())
    return subject if len(subject) <= _SUBJECT_IN_TITLE else subject[: _SUBJECT_IN_TITLE - 1] + "…"


def wording_for(kind: str, interaction: InteractionSummary, participant_user_id: str) -> Wording:
    """Title, body, link and actions of a notification of ``kind`` about ``interaction``."""
    subject = _short(interaction.subject)
    what = f'the {_noun(interaction)} "{subject}"{when(interaction)}'
    titles_and_bodies = {
        "invitation": (f"Invitation: {subject}", f"You are invited to {what}."),
        "added": (f"Added to {subject}", f"You were added to {what}."),
        "accepted": (
            f"Invitation accepted: {subject}",
            f"A participant (user {participant_user_id}) accepted your invitation to {what}.",
        ),
        "refused": (
            f"Invitation declined: {subject}",
            f"A participant (user {participant_user_id}) declined your invitation to {what}.",
        ),
        "removed": (f"Removed from {subject}", f"You were removed from {what}."),
    }
    title, body = titles_and_bodies[kind]
    actions = invitation_actions(interaction.id) if kind == "invitation" else []
    return Wording(title=title, body=body, link=interaction_link(interaction.id), actions=actions)
