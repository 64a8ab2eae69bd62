"""What a note accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from crm.validation import Id, StrictInput

NoteText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=20_000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
    ),
]


class NoteAppend(StrictInput):
    # A phone offline chooses the id; the same id with the same text is a replay.
    id: Id | None = None
    text: NoteText
