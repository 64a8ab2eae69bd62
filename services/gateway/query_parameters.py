"""Query parameters: a route reads those of its query model and refuses any other."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from crm.errors import InvalidInput, field_error


def known_names(query: type[BaseModel] | None) -> frozenset[str]:
    """The parameters a query model reads: its fields, by name and alias."""
    if query is None:
        return frozenset()
    fields = query.model_fields
    return frozenset(fields) | {info.alias for info in fields.values() if info.alias}


def refuse_unknown_query(names: Iterable[str], query: type[BaseModel] | None) -> None:
    """Unknown query parameters are refused naming each, as unknown body fields are: a
    misspelt filter (``?emial=``) silently ignored would answer the whole list."""
    unknown = sorted(set(names) - known_names(query))
    if unknown:
        raise InvalidInput(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            [field_error(name, "unknown query parameter") for name in unknown],
        )
