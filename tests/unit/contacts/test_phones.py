"""Phone numbers: E.164 in the default region, and the digits a search looks for."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from services.contacts.phones import normalise, query_digits, searchable_forms


@pytest.mark.parametrize(
    "typed",
    ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", "0033612345678"],
)
def test_french_mobile_is_normalised_whatever_its_spelling(typed):
    assert normalise(typed, "FR", "mobile") == "+33612345678"


def test_number_with_a_country_code_ignores_the_default_region():
    assert normalise("+32 2 555 12 12", "FR", "phone") == "+3225551212"


def test_number_without_a_country_code_is_read_in_the_default_region():
    assert normalise("02 555 12 12", "BE", "phone") == "+3225551212"


@pytest.mark.parametrize("typed", ["06 12", "bonjour", "+33 6 12 34 56 78 90 12", "123"])
def test_unreadable_number_is_invalid_input_naming_the_field(typed):
    with pytest.raises(InvalidInput) as raised:
        normalise(typed, "FR", "contacts.2.mobile")

    assert [e["field"] for e in raised.value.errors] == ["contacts.2.mobile"]


def test_no_number_stays_none():
    assert normalise(None, "FR", "phone") is None


def test_searchable_forms_are_the_international_and_national_digits():
    assert searchable_forms("+33612345678") == ["33612345678", "0612345678"]
    assert searchable_forms(None) == []


@pytest.mark.parametrize(
    ("query", "digits"),
    [
        ("+33 6 12 34 56 78", "33612345678"),
        ("06 12 34 56 78", "33612345678"),
        ("06 12 34", "061234"),
        ("+33 6 12", "33612"),
        ("Dupont", None),
        ("06", None),
        ("Pomme 06", None),
    ],
)
def test_query_digits_compare_whole_numbers_internationally_and_parts_as_typed(query, digits):
    assert query_digits(query, "FR") == digits
