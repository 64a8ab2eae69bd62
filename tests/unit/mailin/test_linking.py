"""linking.find_contact: a received mail's contact, asked of a real contacts worker."""

from __future__ import annotations

import pytest

from crm.errors import ServiceUnavailable
from services.mailin.linking import find_contact
from tests.people import BOB
from tests.unit.contacts.conftest import contacts, signing_key, sqlite_template  # noqa: F401  (fixtures)


def test_the_original_sender_of_a_forward_is_found_before_the_user_who_forwarded_it(contacts):  # noqa: F811
    pomme = contacts.as_user(BOB)
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    jeanne = pomme.create_contact({"last_name": "Dupont", "email": "jeanne@pomme-siege.fr"})["id"]
    pomme.add_employment(jeanne, {"company_id": siege})
    pomme.create_contact({"last_name": "Petit", "email": "bruno@pomme.fr"})

    found = find_contact(contacts.worker(), BOB.org_id, ["Jeanne@Pomme-Siege.fr ", "bruno@pomme.fr"])

    assert found == {"contact_id": jeanne, "company_id": siege}
    assert find_contact(contacts.worker(), BOB.org_id, ["personne@ailleurs.fr"]) is None
    assert find_contact(contacts.worker(), BOB.org_id, ["", " "]) is None


class ContactsAway:
    def find_by_emails(self, org_id, emails):
        raise ServiceUnavailable("contacts did not answer within 5 s")


def test_a_lookup_that_fails_raises_so_the_delivery_is_tried_again_later():
    with pytest.raises(ServiceUnavailable):
        find_contact(ContactsAway(), "org-pomme", ["jeanne@pomme-siege.fr"])
