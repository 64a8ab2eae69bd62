"""Keyset cursors: opaque, tied to their list, sort and direction."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from crm.errors import InvalidInput
from services.contacts.models import Contact
from services.contacts.pages import Keyset, SortColumn

BY_LAST_NAME = Keyset("contacts", "last_name", "asc", SortColumn(Contact.last_name), Contact.id)


def test_cursor_carries_the_sort_value_and_id_of_the_last_row():
    cursor = BY_LAST_NAME.encode(SimpleNamespace(id="c-42", last_name="Dupont"))

    assert BY_LAST_NAME.decode(cursor) == ("Dupont", "c-42")


def test_missing_text_is_encoded_as_empty():
    cursor = BY_LAST_NAME.encode(SimpleNamespace(id="c-43", last_name=None))

    assert BY_LAST_NAME.decode(cursor) == ("", "c-43")


def test_page_says_whether_more_rows_follow():
    rows = [SimpleNamespace(id=f"c-{n}", last_name="Martin") for n in range(3)]

    assert BY_LAST_NAME.page(rows, 3) == (rows, None)
    served, cursor = BY_LAST_NAME.page(rows, 2)
    assert served == rows[:2]
    assert BY_LAST_NAME.decode(cursor) == ("Martin", "c-1")


def _forge(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "pas un curseur",
        "%%%",
        _forge("companies", "last_name", "asc", "Dupont", "c-42"),
        _forge("contacts", "last_name", "asc", "Dupont", 42),
        _forge("contacts", "last_name", "asc", 3, "c-42"),
        _forge("contacts", "last_name", "asc"),
        _forge("contacts", "last_name", "asc", "Dupont", "c-42\x00"),
        _forge("contacts", "last_name", "asc", "Dupont\x00", "c-42"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_anything_but_a_cursor_of_this_list_is_refused_naming_cursor(cursor):
    with pytest.raises(InvalidInput) as raised:
        BY_LAST_NAME.decode(cursor)

    assert [e["field"] for e in raised.value.errors] == ["cursor"]


def test_datetime_cursor_survives_the_round_trip():
    by_creation = Keyset(
        "contacts", "created_at", "desc", SortColumn(Contact.created_at, "datetime"), Contact.id
    )
    moment = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)

    cursor = by_creation.encode(SimpleNamespace(id="c-1", created_at=moment))

    assert by_creation.decode(cursor) == (moment, "c-1")


BY_CREATION = Keyset("contacts", "created_at", "desc", SortColumn(Contact.created_at, "datetime"), Contact.id)


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-03-14T09:26:53", "hier"],
)
def test_a_datetime_cursor_the_database_cannot_compare_is_refused_naming_cursor(moment):
    # Turned to UTC to be compared, 9999-12-31 at -14:00 overflowed (a 500).
    with pytest.raises(InvalidInput) as raised:
        BY_CREATION.decode(_forge("contacts", "created_at", "desc", moment, "c-1"))

    assert [e["field"] for e in raised.value.errors] == ["cursor"]
