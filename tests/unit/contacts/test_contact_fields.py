"""The fields a contact keeps beside its names and ways to reach it: a birthday and a website."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from tests.people import BOB, FRANCOIS


def test_a_contact_keeps_a_birthday_and_a_website_which_an_update_changes_or_clears(contacts):
    bob = contacts.as_user(BOB)
    francois = bob.create_contact(
        {**FRANCOIS, "birthday": "1978-03-14", "website": "https://francois.example"}
    )

    assert (francois["birthday"], francois["website"]) == ("1978-03-14", "https://francois.example")
    changed = bob.update_contact(francois["id"], {"birthday": "1978-03-15", "website": None})
    assert (changed["birthday"], changed["website"]) == ("1978-03-15", None)
    with pytest.raises(InvalidInput) as refused:
        bob.update_contact(francois["id"], {"birthday": "1978-02-30"})
    assert [error["field"] for error in refused.value.errors] == ["birthday"]
