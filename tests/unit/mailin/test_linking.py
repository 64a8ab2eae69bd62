"""linking.find_contacts: received mails' contacts, asked of a real contacts worker in one call."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ServiceUnavailable
from services.mailin.linking import find_contacts
from tests.people import BOB
from tests.unit.contacts.conftest import contacts, signing_key, sqlite_template  # noqa: F401  (fixtures)


def test_the_original_sender_of_a_forward_is_found_before_the_user_who_forwarded_it(contacts):  # noqa: F811
    pomme = contacts.as_user(BOB)
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    jeanne = pomme.create_contact({"last_name": "Dupont", "email": "jeanne@pomme-siege.fr"})["id"]
    pomme.add_employment(jeanne, {"company_id": siege})
    bruno = pomme.create_contact({"last_name": "Petit", "email": "bruno@pomme.fr"})["id"]

    found = find_contacts(
        contacts.worker(),
        [
            (BOB.org_id, ["Jeanne@Pomme-Siege.fr ", "bruno@pomme.fr"]),
            (BOB.org_id, ["personne@ailleurs.fr"]),
            (BOB.org_id, ["", " "]),
            ("org-poire", ["bruno@pomme.fr"]),  # another organisation's contact is not theirs
            (BOB.org_id, ["bruno@pomme.fr"]),
        ],
    )

    assert found == [
        {"contact_id": jeanne, "company_id": siege},
        None,
        None,
        None,
        {"contact_id": bruno, "company_id": None},
    ]


class CountingContacts:
    def __init__(self, worker):
        self.worker, self.calls = worker, 0

    def find_many_by_emails(self, queries):
        self.calls += 1
        return self.worker.find_many_by_emails(queries)


def test_a_batch_of_mails_is_one_call_and_mails_without_an_address_ask_nothing(contacts):  # noqa: F811
    counting = CountingContacts(contacts.worker())
    assert find_contacts(counting, [(BOB.org_id, [f"client{n}@pomme.fr"]) for n in range(10)]) == [None] * 10
    assert counting.calls == 1
    assert find_contacts(counting, [(BOB.org_id, []), (BOB.org_id, [" "])]) == [None, None]
    assert counting.calls == 1


def test_more_queries_than_a_batch_or_malformed_ones_are_refused_by_name(contacts):  # noqa: F811
    worker = contacts.worker()
    with pytest.raises(InvalidInput, match="queries"):
        worker.find_many_by_emails([[BOB.org_id, ["a@pomme.fr"]]] * 51)
    with pytest.raises(InvalidInput, match="queries"):
        worker.find_many_by_emails([BOB.org_id])
    with pytest.raises(InvalidInput, match="emails"):
        worker.find_many_by_emails([[BOB.org_id, "a@pomme.fr"]])


class ContactsAway:
    def find_many_by_emails(self, queries):
        raise ServiceUnavailable("contacts did not answer within 5 s")


def test_a_lookup_that_fails_raises_so_the_deliveries_are_tried_again_later():
    with pytest.raises(ServiceUnavailable):
        find_contacts(ContactsAway(), [("org-pomme", ["jeanne@pomme-siege.fr"])])
