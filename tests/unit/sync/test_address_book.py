"""The CardDAV address book from sync's (SQLite) replica: which cards changed since a sync token,
and the cards as vCards, read back with vobject."""

from __future__ import annotations

from pathlib import Path

import pytest
import vobject
from sqlalchemy import select

from crm.database import DatabaseAccess, create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from services.sync import address_book, feed
from services.sync.exceptions import SyncTokenUnknown
from services.sync.models import AddressCard
from services.sync.schemas import CardQuery

POMME, CERISE = "org-pomme", "org-cerise"
ELODIE, MARC = "0192f5a0-0000-7000-8000-0000000e1001", "0192f5a0-0000-7000-8000-0000000e1002"
DUPONT = "0192f5a0-0000-7000-8000-00000000c001"


@pytest.fixture
def db(tmp_path: Path):
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/{{service}}.db"}}
    )
    upgrade(settings, "sync")
    engine = create_service_engine(settings, "sync")
    yield DatabaseAccess(engine, relay=None)
    engine.dispose()


def _apply(db: DatabaseAccess, apply, *args, org_id: str = POMME) -> None:
    with db.transaction() as uow:
        apply(feed.Feed(uow.session, org_id), *args)


def _contact(contact_id: str, version: int = 1, employments: list | None = None, **fields) -> dict:
    return {
        "id": contact_id,
        "first_name": "Élodie",
        "last_name": "Martin",
        "phone": "01 23 45 67 89",
        "phone_e164": "+33123456789",
        "mobile": None,
        "email": "elodie.martin@pomme.fr",
        "address": {"street": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
        "note": None,
        "birthday": "1985-06-21",
        "website": None,
        "social": {"linkedin": "https://www.linkedin.com/in/elodie-martin", "x": None},
        "version": version,
        "created_at": "2026-09-01T08:00:00+00:00",
        "updated_at": "2026-09-02T08:00:00+00:00",
        "deleted_at": None,
        "employments": employments or [],
        **fields,
    }


def _employment(employment_id: str, contact_id: str, company_id: str = DUPONT, **fields) -> dict:
    return {
        "id": employment_id,
        "contact_id": contact_id,
        "company_id": company_id,
        "function": "Gérante",
        "phone": "01 40 00 00 01",
        "phone_e164": "+33140000001",
        "mobile": None,
        "email": "elodie@dupont.fr",
        "start_date": "2020-01-01",
        "end_date": None,
        "current": True,
        "version": 1,
        "created_at": "2026-09-01T08:00:00+00:00",
        "updated_at": "2026-09-01T08:00:00+00:00",
        **fields,
    }


def _company(company_id: str = DUPONT, version: int = 1, **fields) -> dict:
    return {
        "id": company_id,
        "name": "Boulangerie Dupont",
        "group": None,
        "address": {"street": "1 place du Marché", "postal_code": "69001", "city": "Lyon", "country": "FR"},
        "phone": None,
        "email": None,
        "website": None,
        "notes": None,
        "tags": [],
        "version": version,
        "created_at": "2026-09-01T08:00:00+00:00",
        "updated_at": "2026-09-01T08:00:00+00:00",
        "deleted_at": None,
        **fields,
    }


def _changes(db: DatabaseAccess, since: int | None = None, org_id: str = POMME) -> address_book.BookChanges:
    with db.read() as session:
        return address_book.changes(session, org_id, since)


def _ids(pairs: list[tuple[str, int]]) -> set[str]:
    return {contact_id for contact_id, _ in pairs}


def _card(db: DatabaseAccess, contact_id: str, version: str = "3.0") -> tuple[int, str]:
    ((found_id, seq, text),) = address_book.cards(db, POMME, [contact_id], version)
    assert found_id == contact_id
    return seq, text


# -- what changed since a token ------------------------------------------------------------------


def test_a_first_sync_lists_the_live_cards_of_the_organisation_only(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)
    _apply(db, feed.apply_contact, _contact(MARC, first_name="Marc"), False)
    _apply(db, feed.apply_contact, _contact(MARC, version=2, deleted_at="2026-09-03T08:00:00+00:00"), False)
    _apply(db, feed.apply_contact, _contact("c-cerise"), False, org_id=CERISE)

    book = _changes(db)

    assert _ids(book.changed) == {ELODIE}
    assert book.deleted == []
    assert book.token == max(seq for _, seq in book.changed + _changes(db, 0).deleted)


def test_changes_since_a_token_are_the_cards_changed_added_and_deleted_after_it(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)
    _apply(db, feed.apply_contact, _contact(MARC, first_name="Marc"), False)
    token = _changes(db).token

    _apply(db, feed.apply_contact, _contact(ELODIE, version=2, last_name="Martin-Dupont"), False)
    _apply(db, feed.apply_contact, _contact(MARC, version=2), True)
    _apply(db, feed.apply_contact, _contact("c-new", first_name="Nouveau"), False)
    later = _changes(db, token)

    assert _ids(later.changed) == {ELODIE, "c-new"}
    assert _ids(later.deleted) == {MARC}
    assert later.token > token
    assert _changes(db, later.token).changed == []


def test_an_older_event_arriving_late_changes_no_card(db):
    _apply(db, feed.apply_contact, _contact(ELODIE, version=2, last_name="Martin-Dupont"), False)
    token = _changes(db).token

    _apply(db, feed.apply_contact, _contact(ELODIE, version=1, social={"x": "https://x.com/old"}), False)

    assert _changes(db, token).changed == []
    assert "Martin-Dupont" in _card(db, ELODIE)[1]
    assert "x.com/old" not in _card(db, ELODIE)[1]


def test_a_token_the_book_never_gave_is_refused(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)

    with pytest.raises(SyncTokenUnknown):
        _changes(db, _changes(db).token + 1)


def test_renaming_a_company_restamps_the_cards_of_its_staff_and_a_note_on_it_does_not(db):
    _apply(db, feed.apply_company, _company(), False)
    _apply(db, feed.apply_contact, _contact(ELODIE, employments=[_employment("e-1", ELODIE)]), False)
    _apply(db, feed.apply_contact, _contact(MARC, first_name="Marc"), False)
    token = _changes(db).token

    _apply(db, feed.apply_company, _company(version=2, notes="Livraison le mardi"), False)
    assert _changes(db, token).changed == []

    _apply(db, feed.apply_company, _company(version=3, name="Boulangerie Dupont & Fils"), False)
    assert _ids(_changes(db, token).changed) == {ELODIE}
    assert "job1.ORG:Boulangerie Dupont & Fils" in _card(db, ELODIE)[1]


def test_a_job_that_ends_or_goes_restamps_the_card(db):
    _apply(db, feed.apply_company, _company(), False)
    _apply(db, feed.apply_contact, _contact(ELODIE, employments=[_employment("e-1", ELODIE)]), False)
    token = _changes(db).token

    _apply(db, feed.apply_contact, _contact(ELODIE, version=2, employments=[]), False)

    assert _ids(_changes(db, token).changed) == {ELODIE}
    assert "ORG" not in _card(db, ELODIE)[1]


def test_a_purged_company_takes_its_jobs_off_the_cards(db):
    _apply(db, feed.apply_company, _company(), False)
    _apply(db, feed.apply_contact, _contact(ELODIE, employments=[_employment("e-1", ELODIE)]), False)
    token = _changes(db).token

    _apply(db, feed.apply_purged, "companies", DUPONT)

    assert _ids(_changes(db, token).changed) == {ELODIE}
    assert "Dupont" not in _card(db, ELODIE)[1]


# -- the cards -----------------------------------------------------------------------------------


def test_a_card_shows_the_contact_its_current_job_and_its_company_in_vcard_3(db):
    _apply(db, feed.apply_company, _company(), False)
    _apply(db, feed.apply_contact, _contact(ELODIE, employments=[_employment("e-1", ELODIE)]), False)

    _, text = _card(db, ELODIE)
    card = vobject.readOne(text)

    assert card.version.value == "3.0"
    assert card.uid.value == ELODIE
    assert card.fn.value == "Élodie Martin"
    assert (card.n.value.family, card.n.value.given) == ("Martin", "Élodie")
    assert sorted(tel.value for tel in card.contents["tel"]) == ["+33 1 23 45 67 89", "+33 1 40 00 00 01"]
    assert card.contents["org"][0].value == ["Boulangerie Dupont"]
    assert card.contents["title"][0].value == "Gérante"
    assert {adr.value.city for adr in card.contents["adr"]} == {"Paris", "Lyon"}
    assert card.bday.value == "1985-06-21"
    assert card.contents["x-socialprofile"][0].value == "https://www.linkedin.com/in/elodie-martin"


def test_a_card_in_vcard_4_has_uri_phones_and_a_urn_uid(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)

    _, text = _card(db, ELODIE, "4.0")

    assert "VERSION:4.0" in text
    assert f"UID:urn:uuid:{ELODIE}" in text
    assert "TEL;TYPE=home,voice;VALUE=uri:tel:+33123456789" in text


def test_a_cards_text_is_kept_until_the_card_changes(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)
    seq, text = _card(db, ELODIE)
    with db.read() as session:
        assert session.scalar(select(AddressCard.vcard_3)) == text

    _apply(db, feed.apply_contact, _contact(ELODIE, version=2, first_name="Élo"), False)

    with db.read() as session:
        assert session.scalar(select(AddressCard.vcard_3)) is None
    later_seq, later = _card(db, ELODIE)
    assert later_seq > seq
    assert "FN:Élo Martin" in later


def test_a_card_stamped_before_its_details_were_kept_shows_international_phones_as_typed(db):
    _apply(
        db, feed.apply_contact, _contact(ELODIE, phone="+33 6 12 34 56 78", mobile="06 12 34 56 78"), False
    )
    with db.transaction() as uow:  # as the migration leaves a card of an older replica
        uow.session.get(AddressCard, (POMME, ELODIE)).details = None

    _, text = _card(db, ELODIE)

    assert "TEL;TYPE=HOME,VOICE:+33 6 12 34 56 78" in text.upper()
    assert text.count("TEL") == 1  # the national mobile needs the organisation's region


def test_deleted_unknown_and_other_organisations_cards_are_not_served(db):
    _apply(db, feed.apply_contact, _contact(ELODIE), False)
    _apply(db, feed.apply_contact, _contact(MARC), True)
    _apply(db, feed.apply_contact, _contact("c-cerise"), False, org_id=CERISE)

    found = address_book.cards(db, POMME, [MARC, "c-cerise", "nobody", ELODIE], "3.0")

    assert [contact_id for contact_id, _, _ in found] == [ELODIE]


def test_a_query_keeps_only_the_cards_it_matches(db):
    from services.sync import card_filters

    _apply(db, feed.apply_contact, _contact(ELODIE), False)
    _apply(
        db,
        feed.apply_contact,
        _contact(MARC, first_name="Marc", last_name="Petit", email="marc@cerise.fr"),
        False,
    )
    query = CardQuery.model_validate({"props": [{"name": "EMAIL", "text_matches": [{"text": "CERISE"}]}]})

    found = address_book.cards(
        db, POMME, [ELODIE, MARC], "3.0", lambda text: card_filters.matches(query, text)
    )

    assert [contact_id for contact_id, _, _ in found] == [MARC]
