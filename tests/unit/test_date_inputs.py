"""Every date and date-time a caller can send is refused by name at the calendar's edges.

Python's datetime stops at year 9999: an offset turned to UTC, or a day added,
overflows there (an OverflowError, a 500) unless the value was refused first.
This walks every input schema of every service, so a new field cannot forget.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
import typing
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import (
    AwareDatetime,
    BaseModel,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
)

import services
from crm.errors import InvalidInput
from crm.validation import QueryInput, StrictInput, validate

EDGES = {
    datetime: ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00"],
    date: ["9999-12-31", "0001-01-01"],
}


def _schema_modules() -> list[str]:
    root = Path(services.__file__).parent
    names = []
    for service in pkgutil.iter_modules([str(root)]):
        for module in pkgutil.iter_modules([str(root / service.name)]):
            if "schemas" in module.name:
                names.append(f"services.{service.name}.{module.name}")
    return names


def _kinds(annotation: object) -> set[type]:
    """The date types an annotation holds (``datetime | None``, ``list[date]``...)."""
    if annotation in (datetime, date):
        return {annotation}
    if annotation in (AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime):
        return {datetime}
    if annotation in (PastDate, FutureDate):
        return {date}
    found: set[type] = set()
    for arg in typing.get_args(annotation):
        found |= _kinds(arg)
    return found


def _date_fields() -> list[tuple[type[BaseModel], str, type]]:
    found = []
    for name in _schema_modules():
        module = importlib.import_module(name)
        for schema in vars(module).values():
            if not (isinstance(schema, type) and issubclass(schema, StrictInput | QueryInput)):
                continue
            if schema.__module__ != name or isinstance(schema, types.GenericAlias):
                continue
            for field_name, info in schema.model_fields.items():
                for kind in _kinds(info.annotation):
                    found.append((schema, field_name, kind))
    return found


DATE_FIELDS = _date_fields()


def test_the_walk_finds_the_date_inputs_it_must_guard():
    named = {(schema.__name__, field) for schema, field, _ in DATE_FIELDS}
    assert {("ApiTokenCreate", "expires_at"), ("EmploymentUpdate", "end_date")} <= named
    assert ("InteractionCreate", "start_at") in named


@pytest.mark.parametrize(
    ("schema", "field", "value"),
    [
        pytest.param(schema, field, value, id=f"{schema.__name__}.{field}={value}")
        for schema, field, kind in DATE_FIELDS
        for value in EDGES[kind]
    ],
)
def test_a_date_at_the_calendars_edge_is_refused_naming_the_field(schema, field, value):
    with pytest.raises(InvalidInput) as raised:
        validate(schema, {field: value})
    assert field in {error["field"] for error in raised.value.errors}
