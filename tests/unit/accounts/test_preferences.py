"""A user's remembered preferences, through single accounts workers."""

from __future__ import annotations

import typing

import pytest

from crm.errors import InvalidInput
from services.accounts import preferences
from services.accounts.models import UserPreferences, outbox
from services.accounts.schemas import CompanyListPreferences, ContactListPreferences
from services.contacts.schemas import CompanySort, ContactSort

DEFAULTS = {
    "lists": {
        "contacts": {"sort": None, "direction": None},
        "companies": {"sort": None, "direction": None},
        "interactions": {"user_id": None, "type": None, "status": None},
        "projects": {"user_id": None},
    },
    "agenda": {"view": "week", "user_ids": []},
    "language": None,
    "date_format": None,
}


def test_preferences_start_with_their_defaults(accounts, people):
    assert accounts.as_user(people.bob).get_my_preferences() == DEFAULTS


def test_saved_preferences_are_the_users_own(accounts, people):
    saved = accounts.as_user(people.bob).replace_my_preferences(
        {
            "lists": {"contacts": {"sort": "first_name", "direction": "desc"}},
            "agenda": {"view": "month", "user_ids": [people.bob, people.emile]},
            "language": "en",
            "date_format": "YYYY-MM-DD",
        }
    )

    assert saved["lists"]["contacts"] == {"sort": "first_name", "direction": "desc"}
    assert saved["lists"]["companies"] == DEFAULTS["lists"]["companies"]
    assert saved["agenda"] == {"view": "month", "user_ids": [people.bob, people.emile]}
    assert accounts.as_user(people.bob).get_my_preferences() == saved
    assert accounts.as_user(people.emile).get_my_preferences() == DEFAULTS


def test_put_replaces_the_whole_document(accounts, people):
    bob = accounts.as_user(people.bob)
    bob.replace_my_preferences({"language": "en", "lists": {"companies": {"sort": "city"}}})

    again = bob.replace_my_preferences({"date_format": "DD/MM/YYYY"})

    assert again == {**DEFAULTS, "date_format": "DD/MM/YYYY"}
    assert bob.get_my_preferences() == again


def test_read_only_user_may_save_their_preferences(accounts, people):
    claire = accounts.as_user(people.claire)

    claire.replace_my_preferences({"language": "fr"})

    assert claire.get_my_preferences()["language"] == "fr"


def test_saving_preferences_announces_nothing(accounts, people):
    before = accounts.count(outbox)

    accounts.as_user(people.bob).replace_my_preferences({"language": "en"})

    assert accounts.count(outbox) == before


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"lists": {"contacts": {"sort": "shoe_size"}}}, "lists.contacts.sort"),
        ({"lists": {"contacts": {"direction": "sideways"}}}, "lists.contacts.direction"),
        ({"lists": {"invoices": {"sort": "name"}}}, "lists.invoices"),
        ({"lists": {"interactions": {"sort": "start_at"}}}, "lists.interactions.sort"),
        ({"agenda": {"view": "year"}}, "agenda.view"),
        ({"agenda": {"user_ids": ["not an id!"]}}, "agenda.user_ids.0"),
        ({"language": "klingon"}, "language"),
        ({"date_format": "YY.M.D"}, "date_format"),
        ({"theme": "dark"}, "theme"),
    ],
)
def test_bad_preferences_name_the_field_and_change_nothing(accounts, people, document, field):
    bob = accounts.as_user(people.bob)
    bob.replace_my_preferences({"language": "en"})

    with pytest.raises(InvalidInput) as raised:
        bob.replace_my_preferences(document)

    assert field in [error["field"] for error in raised.value.errors]
    assert bob.get_my_preferences() == {**DEFAULTS, "language": "en"}


def test_a_stored_part_that_no_longer_validates_falls_back_to_its_default(accounts, people):
    accounts.as_user(people.bob).replace_my_preferences({"language": "en"})
    with accounts.db.transaction() as uow:
        row = uow.session.get(UserPreferences, people.bob)
        row.document = {**row.document, "lists": {"contacts": {"sort": "retired_field"}}, "gone": 1}

    assert accounts.as_user(people.bob).get_my_preferences() == {**DEFAULTS, "language": "en"}


def test_list_sort_fields_are_the_lists_own():
    contact_sorts = typing.get_args(ContactListPreferences.model_fields["sort"].annotation)[0]
    company_sorts = typing.get_args(CompanyListPreferences.model_fields["sort"].annotation)[0]

    assert typing.get_args(contact_sorts) == typing.get_args(ContactSort)
    assert typing.get_args(company_sorts) == typing.get_args(CompanySort)


def test_defaults_are_a_whole_document():
    assert preferences.document_from({}) == DEFAULTS
