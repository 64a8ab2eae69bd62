"""contacts.live_ids and positions: which contacts and companies another service's record may
name, and where they are."""

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


def test_positions_answers_names_and_positions_of_the_callers_live_records(contacts):
    pomme = contacts.as_user(BOB)
    paris = {"latitude": 48.8724, "longitude": 2.3325, "source": "phone_gps"}
    boulangerie = pomme.create_company({"name": "Boulangerie Dupont Paris", "address": {"position": paris}})
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    jeanne = pomme.create_contact(
        {
            "first_name": "Jeanne",
            "last_name": "Dupont",
            "address": {"position": {"latitude": 45.764, "longitude": 4.8357}},
        }
    )["id"]
    gone = pomme.create_contact({"last_name": "Parti"})["id"]
    pomme.delete_contact(gone)
    poire = contacts.as_user(DIANE).create_company({"name": "Poire Magasin"})["id"]

    found = pomme.positions([jeanne, gone, "no-such-contact"], [boulangerie["id"], siege, poire])

    assert found == {
        "contacts": {
            jeanne: {
                "id": jeanne,
                "name": "Jeanne Dupont",
                "position": {"latitude": 45.764, "longitude": 4.8357, "source": "typed"},
            }
        },
        "companies": {
            boulangerie["id"]: {
                "id": boulangerie["id"],
                "name": "Boulangerie Dupont Paris",
                "position": paris,
            },
            siege: {"id": siege, "name": "Pomme Siège Central", "position": None},
        },
    }
    with pytest.raises(InvalidInput, match="company_ids"):
        pomme.positions([], "siege")


def _jeanne_at(pomme, *companies_ended):
    """Jeanne, employed now at Pomme Siège Central and Cabinet Dupuis, and before at the others."""
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    cabinet = pomme.create_company({"name": "Cabinet Dupuis"})["id"]
    jeanne = pomme.create_contact({"first_name": "Jeanne", "last_name": "Dupont", "email": "Jeanne@Pomme.fr"})
    for company in (siege, cabinet):
        pomme.add_employment(jeanne["id"], {"company_id": company})
    for name in companies_ended:
        ended = pomme.create_company({"name": name})["id"]
        pomme.add_employment(jeanne["id"], {"company_id": ended, "end_date": "2020-01-31"})
    return jeanne["id"], cabinet


def test_find_by_emails_answers_the_first_address_that_is_a_contacts_with_its_current_company(contacts):
    pomme = contacts.as_user(BOB)
    jeanne, cabinet = _jeanne_at(pomme, "Anciens Établissements Abel")
    paul = pomme.create_contact({"last_name": "Martin", "email": "paul@pomme.fr"})["id"]
    system = contacts.worker()  # no caller token: an internal call

    assert system.find_by_emails(BOB.org_id, ["inconnu@ailleurs.fr", "JEANNE@pomme.fr", "paul@pomme.fr"]) == {
        "contact_id": jeanne,
        "company_id": cabinet,  # current ones by name: Cabinet Dupuis before Pomme Siège Central
    }
    assert system.find_by_emails(BOB.org_id, ["paul@pomme.fr", "jeanne@pomme.fr"]) == {
        "contact_id": paul,
        "company_id": None,
    }


def test_find_by_emails_finds_a_contact_by_the_professional_e_mail_of_an_employment_with_its_company(
    contacts,
):
    pomme = contacts.as_user(BOB)
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    abel = pomme.create_company({"name": "Anciens Établissements Abel"})["id"]
    marc = pomme.create_contact({"first_name": "Marc", "last_name": "Roux", "email": "marc.roux@gmail.com"})[
        "id"
    ]
    pomme.add_employment(marc, {"company_id": abel, "email": "m.roux@abel.fr", "end_date": "2020-01-31"})
    pomme.add_employment(marc, {"company_id": siege, "email": "M.Roux@pomme-siege.fr"})
    system = contacts.worker()

    # The company is the employment's, not the contact's first current one.
    assert system.find_by_emails(BOB.org_id, ["inconnu@ailleurs.fr", "m.roux@pomme-siege.fr"]) == {
        "contact_id": marc,
        "company_id": siege,
    }
    assert system.find_by_emails(BOB.org_id, ["m.roux@abel.fr"]) == {"contact_id": marc, "company_id": abel}
    # Their own address comes first when it is listed first, with their current company.
    assert system.find_by_emails(BOB.org_id, ["marc.roux@gmail.com", "m.roux@abel.fr"]) == {
        "contact_id": marc,
        "company_id": siege,
    }


def test_find_by_emails_ignores_professional_e_mails_of_archived_contacts_companies_or_employments(contacts):
    pomme = contacts.as_user(BOB)
    closed = pomme.create_company({"name": "Magasin Fermé"})["id"]
    siege = pomme.create_company({"name": "Pomme Siège Central"})["id"]
    left = pomme.create_contact({"last_name": "Parti"})["id"]
    pomme.add_employment(left, {"company_id": siege, "email": "parti@pomme-siege.fr"})
    pomme.delete_contact(left)
    lea = pomme.create_contact({"last_name": "Morel"})["id"]
    pomme.add_employment(lea, {"company_id": closed, "email": "lea@magasin-ferme.fr"})
    pomme.delete_company(closed)
    system = contacts.worker()

    assert system.find_by_emails(BOB.org_id, ["parti@pomme-siege.fr", "lea@magasin-ferme.fr"]) is None


def test_find_by_emails_finds_nothing_among_deleted_contacts_or_another_organisations(contacts):
    pomme = contacts.as_user(BOB)
    gone = pomme.create_contact({"last_name": "Parti", "email": "parti@pomme.fr"})["id"]
    pomme.delete_contact(gone)
    contacts.as_user(DIANE).create_contact({"last_name": "Roux", "email": "roux@poire.fr"})
    system = contacts.worker()

    assert system.find_by_emails(BOB.org_id, ["parti@pomme.fr", "roux@poire.fr"]) is None
    assert system.find_by_emails(BOB.org_id, []) is None


def test_find_by_emails_refuses_what_is_not_a_short_list_of_addresses(contacts):
    with pytest.raises(InvalidInput, match="emails"):
        contacts.worker().find_by_emails(BOB.org_id, "jeanne@pomme.fr")
    with pytest.raises(InvalidInput, match="emails"):
        contacts.worker().find_by_emails(BOB.org_id, [f"a{n}@pomme.fr" for n in range(21)])
