"""Pydantic validation at service boundaries, with errors that name the field."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, TypeVar

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from crm.errors import InvalidInput, field_error

Model = TypeVar("Model", bound=BaseModel)


class StrictInput(BaseModel):
    """Base of every input schema: unknown fields and wrong types are refused.

    Validation runs in JSON mode (``validate``), so ``true`` is a boolean but
    ``0`` is not, and times are ISO 8601 strings.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class QueryInput(BaseModel):
    """Base of query-string schemas: values arrive as strings and are converted."""

    model_config = ConfigDict(extra="forbid", strict=False)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone such as Europe/Paris")
    return value


def _known_currency(value: str) -> str:
    if len(value) != 3 or pycountry.currencies.get(alpha_3=value.upper()) is None:
        raise ValueError("not an ISO 4217 currency code such as EUR")
    return value.upper()


AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


@cache
def _currencies() -> list[str]:
    return sorted(currency.alpha_3 for currency in pycountry.currencies)


def _decimal_string(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('send money as a decimal string such as "42.50", never a number')
    if not re.fullmatch(AMOUNT_PATTERN, value):
        raise ValueError("must be a decimal with at most 10 digits and 2 decimals, such as 42.50")
    return Decimal(value)


def _whole(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer; so do we, but not 3.5 or "3".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole)]


def whole_number(**bounds: int) -> Any:
    """A whole number within ``bounds`` (ge, le...). The bounds come before the
    validator so that they reach the JSON schema as minimum and maximum."""
    return Annotated[int, Field(**bounds), BeforeValidator(_whole)]


def blankable(kind: Any) -> Any:
    """An optional value where an empty or blank string means "not given".

    Forms and CSV files send "" for an empty field; the JSON schema says so.
    """
    base = TypeAdapter(kind).json_schema()
    blank = {"type": "string", "pattern": r"^\s*$"}
    return Annotated[
        kind | None,
        BeforeValidator(_blank_is_none),
        WithJsonSchema({"anyOf": [base, blank, {"type": "null"}]}),
    ]


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# The JSON schemas list the accepted values, so clients and fuzzers know them.
TimeZone = Annotated[
    str,
    AfterValidator(_known_time_zone),
    WithJsonSchema({"type": "string", "enum": sorted(_time_zones()), "examples": ["Europe/Paris"]}),
]
Currency = Annotated[
    str,
    AfterValidator(_known_currency),
    WithJsonSchema({"type": "string", "enum": _currencies(), "examples": ["EUR"]}),
]
# Trimmed, one to two hundred characters, no control characters.
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["42.50"]}),
]


class Money(StrictInput):
    """An amount with its currency; sent as a decimal string, never a float."""

    amount: Amount
    currency: Currency


def money_out(amount: Decimal | None, currency: str | None) -> dict[str, str] | None:
    if amount is None or currency is None:
        return None
    return {"amount": f"{amount:.2f}", "currency": currency}


def describe_validation_error(exc: ValidationError) -> list[dict[str, str]]:
    errors = []
    for problem in exc.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.append(field_error(field, message))
    return errors


def validate(schema: type[Model], data: Any) -> Model:
    """Validate ``data`` against ``schema`` or raise ``InvalidInput`` naming each field."""
    if not isinstance(data, dict):
        raise InvalidInput("body: expected a JSON object", [field_error("body", "expected an object")])
    try:
        document = json.dumps(data)
    except (TypeError, ValueError):
        raise InvalidInput(
            "body: holds values that are not JSON", [field_error("body", "not JSON")]
        ) from None
    if "\\u0000" in document:  # cheap test first: json.dumps writes NUL as \u0000
        _refuse_nul(data)
    try:
        # JSON mode, whoever calls: over HTTP or over RPC the same rules hold.
        return schema.model_validate_json(document)
    except ValidationError as exc:
        errors = describe_validation_error(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(summary, errors) from None


def _nul_fields(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if "\x00" in str(key) else _nul_fields(item, where)
        return found
    if isinstance(value, list):
        return [field for index, item in enumerate(value) for field in _nul_fields(item, f"{path}.{index}")]
    return []


def _refuse_nul(data: dict[str, Any]) -> None:
    """No text may hold the NUL character: PostgreSQL cannot store it, and no person types it."""
    fields = _nul_fields(data, "")
    if fields:
        message = "contains the NUL character (U+0000)"
        raise InvalidInput(
            "; ".join(f"{field}: {message}" for field in fields[:5]),
            [field_error(field, message) for field in fields],
        )


# A record id: what the server makes (time-ordered UUIDs) or what a caller chose.
Id = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
_ID = re.compile(r"[A-Za-z0-9-]{1,36}")


def is_id(value: object) -> bool:
    """Whether ``value`` could be a record id (what a decoded cursor must hold)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


# Dates far from the calendar's edges: a day or an offset added to one can never overflow.
FIRST_YEAR, LAST_YEAR = 1000, 8999


def _within_years(moment: date) -> None:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"give a year from {FIRST_YEAR} to {LAST_YEAR}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("give the time zone offset, such as 2026-12-01T09:00:00+01:00")
    _within_years(moment)
    return moment


def _day_in_range(day: date) -> date:
    _within_years(day)
    return day


def _day_text(value: object) -> object:
    # Lax parsing reads "0" as 1970-01-01 and strict JSON refuses every date: a day is "YYYY-MM-DD".
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("write the day as YYYY-MM-DD")
    return value


_DATE_TIME_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ].+")


def _date_time_or_none(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME_TEXT.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _date_time_text(value: object) -> datetime:
    # A query string is text: "0" is not the epoch, and a date alone is not an instant.
    moment = _date_time_or_none(value)
    if moment is None:
        raise ValueError("send a date-time with its offset, such as 2026-12-01T09:00:00Z")
    return moment


def _day_or_date_time_text(value: object) -> date:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return date.fromisoformat(value)
    moment = _date_time_or_none(value)
    if moment is not None:
        return moment
    if isinstance(value, date):
        return value
    raise ValueError("send a day (2026-12-01) or a date-time with its offset (2026-12-01T09:00:00+01:00)")


def _day_or_aware(moment: date) -> date:
    return _aware(moment) if isinstance(moment, datetime) else _day_in_range(moment)


# A time with its offset, in a body or a query string.
AwareDateTime = Annotated[datetime, AfterValidator(_aware)]
# A time with its offset in a query string (``updated_since``): a bare number or a day is refused.
QueryDateTime = Annotated[
    AwareDateTime,
    BeforeValidator(_date_time_text),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "A date-time with its offset (not a day alone)",
        }
    ),
]
# A calendar day written YYYY-MM-DD, in a body or a query string.
Day = Annotated[date, Strict(False), BeforeValidator(_day_text), AfterValidator(_day_in_range)]
# A range bound: a whole day (YYYY-MM-DD, UTC) or an instant with its offset (see crm.times.range_of).
DayOrDateTime = Annotated[
    datetime | date,
    BeforeValidator(_day_or_date_time_text),
    AfterValidator(_day_or_aware),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
            "description": "A day (YYYY-MM-DD, UTC) or a date-time with its offset",
        }
    ),
]
