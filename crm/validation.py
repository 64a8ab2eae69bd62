"""Pydantic validation at service boundaries, with errors that name the field."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, TypeVar

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from crm.errors import InvalidInput, field_error

Model = TypeVar("Model", bound=BaseModel)


class StrictInput(BaseModel):
    """Base of every input schema: unknown fields and wrong types are refused."""

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


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_time_zone)]
Currency = Annotated[
    str, StringConstraints(min_length=3, max_length=3), AfterValidator(_known_currency)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Money(StrictInput):
    """An amount with its currency; sent as a decimal string, never a float."""

    amount: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
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
        raise InvalidInput(
            "body: expected a JSON object", [field_error("body", "expected an object")]
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = describe_validation_error(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(summary, errors) from None
