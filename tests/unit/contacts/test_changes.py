"""The stamps every write of a company or a contact gets, one record or many at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.contacts import changes
from services.contacts.models import Company, Contact, Employment

NOW = datetime(2026, 11, 22, 13, 45, tzinfo=UTC)
TODAY = NOW.date()


def test_a_new_record_starts_at_version_one_made_now():
    company = changes.new_record(Company, NOW, id="c1", org_id="org-pomme", name="Pomme Magasin")

    assert (company.version, company.created_at, company.updated_at) == (1, NOW, NOW)


def test_a_touched_record_moves_to_its_next_version():
    contact = changes.new_record(Contact, NOW, id="k1", org_id="org-pomme", last_name="Dupont")
    later = datetime(2026, 11, 23, tzinfo=UTC)

    changes.touch(contact, later)

    assert (contact.version, contact.created_at, contact.updated_at) == (2, NOW, later)


def test_new_rows_of_a_batch_are_model_instances_with_every_column_set():
    rows = changes.NewRows()

    contact = rows.new(Contact, NOW, id="k1", org_id="org-pomme", last_name="Dupont")

    assert isinstance(contact, Contact)
    assert (contact.version, contact.created_at, contact.first_name, contact.deleted_at) == (
        1,
        NOW,
        None,
        None,
    )
    assert rows.rows[Contact] == [contact]


def test_the_search_text_holds_current_employments_at_live_companies_by_company_name():
    contact = changes.new_record(
        Contact, NOW, id="k1", org_id="org-pomme", first_name="Jeanne", last_name="Dupont"
    )
    magasin = changes.new_record(Company, NOW, id="c1", org_id="org-pomme", name="Pomme Magasin")
    cabinet = changes.new_record(Company, NOW, id="c2", org_id="org-pomme", name="Cabinet Dupuis")
    ferme = changes.new_record(Company, NOW, id="c3", org_id="org-pomme", name="Ferme Close", deleted_at=NOW)
    ancien = changes.new_record(Company, NOW, id="c4", org_id="org-pomme", name="Ancien Employeur")

    def at(company: Company, end_date: date | None = None) -> tuple[Employment, Company]:
        employment = changes.new_record(Employment, NOW, id=f"e-{company.id}", end_date=end_date)
        return employment, company

    history = [at(magasin), at(cabinet), at(ferme), at(ancien, date(2020, 1, 31))]

    assert (
        changes.contact_search_text(contact, history, TODAY) == "jeanne dupont cabinet dupuis pomme magasin"
    )
