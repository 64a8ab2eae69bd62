"""contacts.live_ids: which contacts and companies another service's record may name."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from tests.people import BOB, DIANE


def test_live_ids_keeps_the_callers_live_contacts_and_companies_in_the_order_given(contacts):
    pomme = contacts.as_user(BOB)
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    jeanne = pomme.create_contact({"first_name": "Jeanne", "last_name": "Dupont"})["id"]
    gone = pomme.create_contact({"last_name": "Parti"})["id"]
    pomme.delete_contact(gone)
    poire = contacts.as_user(DIANE).create_company({"name": "Poire Magasin"})["id"]

    found = pomme.live_ids([gone, jeanne, "no-such-contact", jeanne], [poire, siege])

    assert found == {"contact_ids": [jeanne], "company_ids": [siege]}


def test_live_ids_refuses_what_is_not_a_list_of_ids(contacts):
    with pytest.raises(InvalidInput, match="contact_ids"):
        contacts.as_user(BOB).live_ids("jeanne", [])
