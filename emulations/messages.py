"""What the emulations accepted: one ``SandboxMessage`` per SMS or e-mail recipient."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class SandboxMessage:
    """One message a provider emulation accepted (one per e-mail recipient)."""

    provider: str
    provider_message_id: str
    to: str
    sender: str
    body: str | None  # the SMS text, or the e-mail's text part
    subject: str | None = None
    html: str | None = None
    crm_message_id: str | None = None
    reply_to: str | None = None
    attachments: tuple[str, ...] = ()  # file names
    accepted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class AcceptedMessages:
    """The messages accepted so far, oldest first; safe to share between threads."""

    def __init__(self) -> None:
        self._messages: list[SandboxMessage] = []
        self._lock = threading.Lock()

    def add(self, message: SandboxMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def all(self) -> list[SandboxMessage]:
        with self._lock:
            return list(self._messages)
