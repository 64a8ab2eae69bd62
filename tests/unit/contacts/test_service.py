"""What every entrypoint promises about its caller: a verified token, and writes only by writers."""

from __future__ import annotations

import pytest

from crm.errors import ReadOnlyUser, Unauthenticated
from services.contacts import schemas
from tests.people import BOB, CLAIRE, JEANNE, SIEGE

WRITES = [
    ("create_company", lambda ids: (SIEGE,)),
    ("update_company", lambda ids: (ids["company"], {"name": "Pomme Siège"})),
    ("delete_company", lambda ids: (ids["company"],)),
    ("create_company_with_contacts", lambda ids: ({"company": SIEGE, "contacts": [JEANNE]},)),
    ("create_contact", lambda ids: ({"last_name": "Martin"},)),
    ("create_contacts", lambda ids: ([{"last_name": "Martin"}],)),
    ("update_contact", lambda ids: (ids["contact"], {"note": "Lecture seule"})),
    ("delete_contact", lambda ids: (ids["contact"],)),
    ("add_employment", lambda ids: (ids["contact"], {"company_id": ids["company"]})),
    ("update_employment", lambda ids: (ids["employment"], {"function": "PDG"})),
    ("delete_employment", lambda ids: (ids["employment"],)),
    ("create_interest", lambda ids: ({"name": "Libre"},)),
    ("delete_interest", lambda ids: (ids["interest"],)),
]
READS = [
    ("get_company", lambda ids: (ids["company"],)),
    ("get_contact", lambda ids: (ids["contact"],)),
    ("list_interests", lambda ids: ()),
    ("find_contacts_by_interests", lambda ids: ([ids["interest"]],)),
    ("find_companies_by_interests", lambda ids: ([ids["interest"]],)),
    ("search_contacts", lambda ids: ("Dupont",)),
    ("search_companies", lambda ids: ("Pomme",)),
]


@pytest.fixture
def records(contacts) -> dict[str, str]:
    """One record of each kind in Pomme's organisation."""
    bob = contacts.as_user(BOB)
    interest = bob.create_interest({"name": "Comptable"})
    company = bob.create_company(SIEGE)
    contact = bob.create_contact(
        {**JEANNE, "interests": [interest["id"]], "employments": [{"company_id": company["id"]}]}
    )
    return {
        "company": company["id"],
        "contact": contact["id"],
        "employment": contact["employments"][0]["id"],
        "interest": interest["id"],
    }


@pytest.mark.parametrize(("method", "arguments"), WRITES, ids=[name for name, _ in WRITES])
def test_read_only_user_cannot_write(contacts, records, method, arguments):
    before = contacts.footprint()

    with pytest.raises(ReadOnlyUser):
        getattr(contacts.as_user(CLAIRE), method)(*arguments(records))

    assert contacts.footprint() == before


@pytest.mark.parametrize(("method", "arguments"), READS, ids=[name for name, _ in READS])
def test_read_only_user_can_read(contacts, records, method, arguments):
    assert getattr(contacts.as_user(CLAIRE), method)(*arguments(records)) is not None


@pytest.mark.parametrize(("method", "arguments"), WRITES + READS, ids=[name for name, _ in WRITES + READS])
def test_call_without_an_access_token_is_refused(contacts, records, method, arguments):
    with pytest.raises(Unauthenticated):
        getattr(contacts.worker(), method)(*arguments(records))


def test_forged_access_token_is_refused(contacts):
    token = contacts.access_token(BOB)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    with pytest.raises(Unauthenticated):
        contacts.worker(forged).search_contacts()


def test_ping_answers_without_a_caller(contacts):
    assert contacts.worker().ping() == {"service": "contacts", "status": "ok"}


def _shaped(model, result: dict) -> None:
    """``result`` validates against ``model`` and has exactly its fields."""
    model.model_validate(result)
    assert set(result) == set(model.model_fields)


def test_results_have_the_documented_shapes(contacts, records):
    bob = contacts.as_user(BOB)
    company_id, contact_id, employment_id, interest_id = (
        records["company"],
        records["contact"],
        records["employment"],
        records["interest"],
    )

    _shaped(schemas.CreatedCompanyOut, bob.create_company({"name": "Pomme Magasin"}))
    _shaped(schemas.CompanyOut, bob.update_company(company_id, {"notes": "Standard fermé le lundi."}))
    _shaped(schemas.CompanyWithEmployeesOut, bob.get_company(company_id))
    _shaped(schemas.CreatedContactOut, bob.create_contact({"last_name": "Martin"}))
    _shaped(schemas.ContactDetailOut, bob.get_contact(contact_id))
    _shaped(schemas.ContactDetailOut, bob.update_contact(contact_id, {"note": "Client fidèle."}))
    _shaped(schemas.CreatedEmploymentOut, bob.add_employment(contact_id, {"company_id": company_id}))
    _shaped(schemas.EmploymentOut, bob.update_employment(employment_id, {"function": "DAF"}))
    _shaped(schemas.CreatedInterestOut, bob.create_interest({"name": "Libre"}))
    _shaped(schemas.InterestList, bob.list_interests())
    both = bob.create_company_with_contacts(
        {"company": {"name": "Cabinet Dupuis"}, "contacts": [{"last_name": "Roux"}]}
    )
    _shaped(schemas.CompanyWithContactsOut, both)
    for page in (bob.search_contacts(), bob.find_contacts_by_interests([interest_id])):
        _shaped(schemas.ContactPage, page)
        _shaped(schemas.ContactListItem, page["items"][0])
    for page in (bob.search_companies(), bob.find_companies_by_interests([interest_id])):
        _shaped(schemas.CompanyPage, page)
        schemas.CompanyListItem.model_validate(page["items"][0])
