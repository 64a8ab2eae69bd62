"""Entrypoints for timestamped notes on interactions.

Mixed into ``InteractionsService``, whose dependencies they use."""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.interactions import notes
from services.interactions.note_schemas import NoteAppend


class NoteEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    caller_users: Any

    @rpc
    def append_note(self, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Append a note, stamped with the caller's name and the time in their time zone.
        Notes are never changed nor deleted."""
        caller = self.caller.writer()
        request = validate(NoteAppend, data)
        author = self.caller_users.of(caller, self.accounts)
        with self.db.single_write() as uow:  # reads, then the note and its event in one statement
            record, created = notes.append(uow, caller, interaction_id, request, author)
        return {**record, "created": created}

    @rpc
    def list_notes(self, interaction_id: str) -> list[dict[str, Any]]:
        """The interaction's notes, oldest first."""
        caller = self.caller.user()
        with self.db.read() as session:
            return notes.list_notes(session, caller, interaction_id)
