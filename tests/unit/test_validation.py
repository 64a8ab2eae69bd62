"""Boundary validation: errors that name each field, money as decimal strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.errors import InvalidInput
from crm.validation import (
    AwareDateTime,
    Currency,
    Day,
    Money,
    ShortText,
    StrictInput,
    TimeZone,
    WholeNumber,
    money_out,
    validate,
)


class RoomBooking(StrictInput):
    """A schema the way services write them."""

    room: ShortText
    seats: WholeNumber = 1
    projector: bool = False
    time_zone: TimeZone = "UTC"
    deposit: Money | None = None


class PriceList(StrictInput):
    currency: Currency


def _errors(data) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        validate(RoomBooking, data)
    return raised.value.errors


def test_valid_input_becomes_the_typed_model():
    booking = validate(
        RoomBooking,
        {
            "room": "  Chambre 404 ",
            "seats": 3,
            "time_zone": "Europe/Paris",
            "deposit": {"amount": "120.50", "currency": "eur"},
        },
    )

    assert booking.room == "Chambre 404"
    assert booking.deposit.amount == Decimal("120.50")
    assert booking.deposit.currency == "EUR"


def test_unknown_field_is_refused_by_name():
    assert _errors({"room": "Chambre 404", "couleur": "rouge"}) == [
        {"field": "couleur", "message": "unknown field"}
    ]


def test_wrong_type_names_the_field():
    (error,) = _errors({"room": "Chambre 404", "seats": "beaucoup"})

    assert error["field"] == "seats"
    assert "integer" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("seats", "3"), ("seats", 3.5), ("seats", True), ("projector", 0), ("projector", "oui")],
)
def test_values_of_another_json_type_are_not_coerced(field, value):
    assert [e["field"] for e in _errors({"room": "Chambre 404", field: value})] == [field]


def test_a_whole_number_written_with_a_decimal_point_is_accepted():
    assert validate(RoomBooking, {"room": "Chambre 404", "seats": 3.0}).seats == 3


def test_missing_field_names_it():
    assert _errors({}) == [{"field": "room", "message": "Field required"}]


def test_over_long_string_is_refused():
    (error,) = _errors({"room": "Salle " * 40})

    assert error["field"] == "room"
    assert "200" in error["message"]


def test_blank_text_is_refused():
    assert [e["field"] for e in _errors({"room": "   "})] == ["room"]


def test_text_with_control_characters_is_refused():
    assert [e["field"] for e in _errors({"room": "Chambre\x00404"})] == ["room"]


class Note(StrictInput):
    """Free text, where new lines and tabs belong."""

    text: str
    tags: list[str] = []


def test_free_text_keeps_new_lines_and_tabs():
    assert validate(Note, {"text": "Rappeler Mme Dupont\n\tlundi"}).text == "Rappeler Mme Dupont\n\tlundi"


def test_the_nul_character_is_refused_wherever_it_is_and_named():
    with pytest.raises(InvalidInput) as raised:
        validate(Note, {"text": "Rappeler\x00", "tags": ["client", "vip\x00"]})
    assert raised.value.errors == [
        {"field": "text", "message": "contains the NUL character (U+0000)"},
        {"field": "tags.1", "message": "contains the NUL character (U+0000)"},
    ]


def test_a_typed_backslash_u0000_is_only_text():
    assert validate(Note, {"text": "C:\\u0000"}).text == "C:\\u0000"


@pytest.mark.parametrize("amount", [42.5, 42])
def test_money_sent_as_a_json_number_is_refused_with_a_hint(amount):
    (error,) = _errors({"room": "Chambre 404", "deposit": {"amount": amount, "currency": "EUR"}})

    assert error["field"] == "deposit.amount"
    assert "decimal string" in error["message"]


@pytest.mark.parametrize("code", ["EURO", "ABC", "€", "12"])
def test_unknown_currency_is_refused(code):
    errors = _errors({"room": "Chambre 404", "deposit": {"amount": "10", "currency": code}})

    assert [e["field"] for e in errors] == ["deposit.currency"]


def test_unknown_currency_message_says_what_is_expected():
    with pytest.raises(InvalidInput) as raised:
        validate(PriceList, {"currency": "ABC"})

    assert raised.value.errors == [
        {"field": "currency", "message": "not an ISO 4217 currency code such as EUR"}
    ]


def test_unknown_time_zone_is_refused_with_an_example():
    assert _errors({"room": "Chambre 404", "time_zone": "Europe/Lyon"}) == [
        {"field": "time_zone", "message": "not an IANA time zone such as Europe/Paris"}
    ]


@pytest.mark.parametrize("amount", ["-1", "12.345", "12345678901.00", "1e3", "douze"])
def test_negative_or_over_precise_amounts_are_refused(amount):
    errors = _errors({"room": "Chambre 404", "deposit": {"amount": amount, "currency": "EUR"}})

    assert [e["field"] for e in errors] == ["deposit.amount"]


def test_every_bad_field_is_reported_and_the_detail_names_them():
    with pytest.raises(InvalidInput) as raised:
        validate(RoomBooking, {"room": "", "time_zone": "Mars/Olympus"})

    assert [e["field"] for e in raised.value.errors] == ["room", "time_zone"]
    assert raised.value.detail.startswith("room: ")
    assert "time_zone: " in raised.value.detail


@pytest.mark.parametrize("body", [None, [], "Chambre 404", 42])
def test_a_body_that_is_not_an_object_is_refused(body):
    assert _errors(body) == [{"field": "body", "message": "expected an object"}]


def test_money_is_sent_as_a_decimal_string_with_two_places():
    assert money_out(Decimal("45.5"), "EUR") == {"amount": "45.50", "currency": "EUR"}
    assert money_out(Decimal("45"), "EUR") == {"amount": "45.00", "currency": "EUR"}


def test_money_without_amount_or_currency_is_absent():
    assert money_out(None, "EUR") is None
    assert money_out(Decimal("45.00"), None) is None


class Meeting(StrictInput):
    start_at: AwareDateTime
    day: Day | None = None


@pytest.mark.parametrize(
    "data",
    [
        {"start_at": "0001-01-01T00:30:00+01:00"},
        {"start_at": "9999-12-31T23:30:00-05:00"},
        {"start_at": "2026-12-01T09:00:00+01:00", "day": "0001-01-01"},
        {"start_at": "2026-12-01T09:00:00+01:00", "day": "9999-12-31"},
    ],
)
def test_dates_at_the_edges_of_the_calendar_are_refused_by_name(data):
    with pytest.raises(InvalidInput) as raised:
        validate(Meeting, data)
    assert raised.value.errors[0]["message"] == "give a year from 1000 to 8999"
