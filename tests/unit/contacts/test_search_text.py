"""The folded text searches match: lower case, no accents, phones as digits."""

from __future__ import annotations

from types import SimpleNamespace

from services.contacts.search_text import company_text, contact_text, fold, query_terms


def test_fold_removes_case_accents_and_extra_spaces():
    assert fold("  Pomme   Siège  CENTRAL ") == "pomme siege central"
    assert fold("François Lefèvre-Ångström") == "francois lefevre-angstrom"
    assert fold(None) == ""


def test_company_text_holds_name_group_email_and_phone_digits():
    company = SimpleNamespace(
        name="Pomme Entrepôts", group_name="Pomme", email="logistique@pomme.fr", phone_e164="+33142685300"
    )

    assert company_text(company) == "pomme entrepots pomme logistique@pomme.fr 33142685300 0142685300"


def test_contact_text_holds_current_companies_and_professional_details():
    contact = SimpleNamespace(
        first_name="Jeanne", last_name="Dupont", email=None, phone_e164=None, mobile_e164="+33612345678"
    )
    employment = SimpleNamespace(email="j.dupont@pomme.fr", phone_e164=None, mobile_e164=None)
    company = SimpleNamespace(name="Pomme Magasin", group_name="Pomme")

    text = contact_text(contact, [(employment, company)])

    assert text == "jeanne dupont 33612345678 0612345678 pomme magasin pomme j.dupont@pomme.fr"


def test_query_terms_are_folded_words_or_phone_digits():
    assert query_terms("Siège  Pomme", "FR") == ["siege", "pomme"]
    assert query_terms("06 12 34 56 78", "FR") == ["33612345678"]
    assert query_terms("   ", "FR") == []
    assert query_terms(None, "FR") == []
