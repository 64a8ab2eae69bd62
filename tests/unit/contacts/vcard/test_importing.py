"""Importing .vcf files: update-or-create by UID and e-mail, companies by ORG name, bad cards reported."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.errors import InvalidInput, ReadOnlyUser
from services.contacts.models import Company
from services.contacts.vcard import importing as vcard_import
from tests.people import BOB, CLAIRE, DIANE, FRANCOIS, JEANNE, POMME, SIEGE


def card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


FRANCOIS_CARD = card(
    "N:Lefèvre;François;;;",
    "FN:François Lefèvre",
    "EMAIL;TYPE=INTERNET,HOME:Francois.Lefevre@Exemple.fr",
    "TEL;TYPE=CELL:06 11 22 33 44",
    "ORG:POMME SIEGE CENTRAL",
    "TITLE:Comptable",
    "TEL;TYPE=WORK,VOICE:01 42 68 53 02",
    "EMAIL;TYPE=INTERNET,WORK:f.lefevre@pomme.fr",
)
ZOE_CARD = card(
    "FN:Zoé Martin",
    "item1.ORG:Boulangerie Martin",
    "item1.TITLE:Gérante",
    "item1.ADR;TYPE=WORK:;;8 rue du Four;Nantes;;44000;France",
    "ADR;TYPE=HOME:;;2 allée des Tilleuls;Rezé;;44400;France",
    version="4.0",
)


def _contacts_by_last_name(worker) -> dict[str, dict]:
    found = worker.search_contacts(limit=200)["items"]
    return {contact["last_name"]: worker.get_contact(contact["id"]) for contact in found}


def _companies(contacts, org_id: str = POMME) -> list[str]:
    with contacts.db.read() as session:
        return sorted(session.scalars(select(Company.name).where(Company.org_id == org_id)))


def test_each_card_creates_a_contact_employed_at_the_company_its_org_names(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)

    report = bob.import_vcards(FRANCOIS_CARD + ZOE_CARD)

    assert report == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0, "errors": [], "not_kept": []}
    people = _contacts_by_last_name(bob)
    francois, zoe = people["Lefèvre"], people["Martin"]
    assert (francois["first_name"], francois["email"], francois["mobile_e164"]) == (
        "François",
        "francois.lefevre@exemple.fr",
        "+33611223344",
    )
    (employment,) = francois["employments"]
    assert employment["company_id"] == siege["id"]  # "POMME SIEGE CENTRAL": case and accents aside
    assert (employment["function"], employment["phone_e164"], employment["email"]) == (
        "Comptable",
        "+33142685302",
        "f.lefevre@pomme.fr",
    )
    assert zoe["first_name"] == "Zoé" and zoe["address"]["city"] == "Rezé"
    assert [(e["company"]["name"], e["function"]) for e in zoe["employments"]] == [
        ("Boulangerie Martin", "Gérante")
    ]
    boulangerie = bob.get_company(zoe["employments"][0]["company_id"])
    assert boulangerie["address"]["street"] == "8 rue du Four"
    assert _companies(contacts) == ["Boulangerie Martin", "Pomme Siège Central"]


def test_each_card_announces_its_contact_and_the_companies_it_created(contacts):
    contacts.as_user(BOB).create_company(SIEGE)
    before = len(contacts.events())

    contacts.as_user(BOB).import_vcards(FRANCOIS_CARD + ZOE_CARD)

    assert [event["event_type"] for event in contacts.events()[before:]] == [
        "contact_created",
        "company_created",
        "contact_created",
    ]


def test_a_company_of_another_organisation_is_never_used(contacts):
    contacts.as_user(DIANE).create_company(SIEGE)

    contacts.as_user(BOB).import_vcards(FRANCOIS_CARD)

    assert _companies(contacts) == ["POMME SIEGE CENTRAL"]  # created in Pomme, as the card writes it
    assert _companies(contacts, DIANE.org_id) == ["Pomme Siège Central"]


def test_a_card_with_a_contacts_email_updates_that_contact(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    report = bob.import_vcards(
        card(
            "N:Dupont;Jeanne;;;",
            "EMAIL:JEANNE.DUPONT@EXEMPLE.FR",
            "TEL;TYPE=cell:06.12.34.56.78",
            "NOTE:Rappeler après le salon.",
        )
    )

    assert report["updated"] == 1 and report["created"] == 0
    updated = bob.get_contact(jeanne["id"])
    assert updated["note"] == "Rappeler après le salon."
    assert updated["mobile"] == JEANNE["mobile"]  # the same number, typed another way: no change
    assert updated["address"]["city"] == "Lyon"  # what the card does not say stays
    assert len(bob.search_contacts()["items"]) == 1


def test_a_card_with_a_contacts_uid_updates_that_contact_even_under_another_email(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)

    report = bob.import_vcards(
        card(f"UID:{jeanne['id']}", "N:Dupont-Moreau;Jeanne;;;", "EMAIL:jeanne@moreau.fr")
    )

    assert report["updated"] == 1
    updated = bob.get_contact(jeanne["id"])
    assert (updated["last_name"], updated["email"]) == ("Dupont-Moreau", "jeanne@moreau.fr")


def test_a_card_with_only_a_work_email_updates_the_one_contact_employed_with_it(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    employed = bob.create_contact(
        {**FRANCOIS, "employments": [{"company_id": siege["id"], "email": "f.lefevre@pomme.fr"}]}
    )

    report = bob.import_vcards(
        card(
            "N:Lefèvre;François;;;",
            "ORG:Pomme Siège Central",
            "TITLE:Chef comptable",
            "EMAIL;TYPE=WORK:f.lefevre@pomme.fr",
        )
    )

    assert report["updated"] == 1
    (employment,) = bob.get_contact(employed["id"])["employments"]
    assert employment["function"] == "Chef comptable"


def test_reimporting_an_export_changes_nothing(contacts):
    bob = contacts.as_user(BOB)
    siege = bob.create_company(SIEGE)
    bob.create_contact(
        {
            **JEANNE,
            "employments": [
                {
                    "company_id": siege["id"],
                    "function": "Acheteuse",
                    "phone": "01 42 68 53 01",
                    "email": "j@pomme.fr",
                }
            ],
        }
    )
    clients = bob.create_interest({"name": "Clients"})
    bob.create_contact(
        {
            **FRANCOIS,
            "social": {"x": "@flefevre", "viadeo": "https://viadeo.com/p/fl"},
            "birthday": "1978-03-14",
            "website": "https://francois.example/a;b,c",
            "interests": [clients["id"]],
        }
    )
    # Every character vCard gives a meaning to, in every kind of value.
    cie = bob.create_company({"name": "Pomme, Poire & Cie; SA", "address": {"street": "1 rue A, bis; cour"}})
    bob.create_contact(
        {
            "first_name": "Jean-Édouard",
            "last_name": 'Dupont; dit "Dupond", l\'aîné',
            "note": "Remise: 5 %; paiement à 30 jours, \\ fin de mois.\n\tVoir contrat.",
            "address": {"street": "3, place; du Marché"},
            "employments": [{"company_id": cie["id"], "function": "PDG; fondateur, associé"}],
        }
    )
    for version in ("3.0", "4.0"):
        exported = bob.export_vcards(version=version)["content"]
        footprint, events = contacts.footprint(), len(contacts.events())

        report = bob.import_vcards(exported)

        assert report == {
            "created": 0,
            "updated": 0,
            "unchanged": 3,
            "failed": 0,
            "errors": [],
            "not_kept": [],
        }
        assert (contacts.footprint(), len(contacts.events())) == (footprint, events)


def test_bad_cards_are_reported_by_number_and_the_good_ones_imported(contacts):
    bob = contacts.as_user(BOB)
    content = "".join(
        [
            FRANCOIS_CARD,
            card("N:Mauvais;Courriel;;;", "EMAIL:pas-une-adresse"),
            card("N:Mauvais;Numéro;;;", "item1.ORG:Pomme Magasin", "item1.TEL;TYPE=work:12"),
            card("TEL:01 45 67 89 10", "NOTE:ni nom ni adresse"),
            card("N:Illisible;;;;", "cette ligne n'est pas une propriété"),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Sans Fin;;;;\r\n",
            ZOE_CARD,
        ]
    )

    report = bob.import_vcards(content)

    assert (report["created"], report["failed"]) == (2, 5)
    assert [(error["card"], error["field"]) for error in report["errors"]] == [
        (2, "EMAIL"),
        (3, "item1.TEL"),
        (4, "N"),
        (5, "card"),
        (6, "END"),
    ]
    assert "not a valid phone number" in report["errors"][1]["reason"]
    assert sorted(_contacts_by_last_name(bob)) == ["Lefèvre", "Martin"]


def test_a_bad_card_leaves_nothing_half_written(contacts):
    footprint = contacts.footprint()

    report = contacts.as_user(BOB).import_vcards(
        card("N:Moderne;Garage;;;", "ORG:Garage Moderne", "TITLE:Mécanicien", "TEL;TYPE=WORK:+33 1 2")
    )

    assert report["failed"] == 1
    assert contacts.footprint() == footprint  # neither the company nor the contact


def test_an_email_of_another_contact_is_reported_on_the_card(contacts):
    bob = contacts.as_user(BOB)
    jeanne = bob.create_contact(JEANNE)
    francois = bob.create_contact(FRANCOIS)

    report = bob.import_vcards(
        card(f"UID:{jeanne['id']}", "N:Dupont;Jeanne;;;", f"EMAIL:{FRANCOIS['email']}")
    )

    (error,) = report["errors"]
    assert (error["card"], error["field"]) == (1, "EMAIL")
    assert francois["id"] in error["reason"]
    assert bob.get_contact(jeanne["id"])["email"] == "jeanne.dupont@exemple.fr"


def test_a_new_contact_needs_a_name_even_when_its_card_has_an_email(contacts):
    report = contacts.as_user(BOB).import_vcards(card("EMAIL:inconnu@exemple.fr"))

    assert [(error["card"], error["field"]) for error in report["errors"]] == [(1, "N")]


def test_a_dry_run_reports_what_an_import_would_do_and_writes_nothing(contacts):
    bob = contacts.as_user(BOB)
    bob.create_contact(JEANNE)
    content = (
        FRANCOIS_CARD
        + card("N:Dupont;Jeanne;;;", f"EMAIL:{JEANNE['email']}", "NOTE:Nouvelle note")
        + (card("N:Mauvais;Courriel;;;", "EMAIL:pas-une-adresse"))
    )
    footprint, events = contacts.footprint(), len(contacts.events())

    dry = bob.import_vcards(content, dry_run=True)

    assert (contacts.footprint(), len(contacts.events())) == (footprint, events)
    assert dry == bob.import_vcards(content)
    assert (dry["created"], dry["updated"], dry["failed"]) == (1, 1, 1)


def test_a_dry_run_counts_a_repeated_new_email_as_an_update(contacts):
    report = contacts.as_user(BOB).import_vcards(FRANCOIS_CARD + FRANCOIS_CARD, dry_run=True)

    assert (report["created"], report["updated"]) == (1, 1)


def test_a_read_only_user_cannot_import_even_a_dry_run(contacts):
    footprint = contacts.footprint()

    for dry_run in (False, True):
        with pytest.raises(ReadOnlyUser):
            contacts.as_user(CLAIRE).import_vcards(FRANCOIS_CARD, dry_run=dry_run)

    assert contacts.footprint() == footprint


def test_cards_left_when_the_deadline_nears_are_reported_not_imported(contacts, monkeypatch):
    # The gateway waits 10 s: the import stops taking cards after 8.
    clock = iter([0.0, 1.0, 8.5, 9.0])
    monkeypatch.setattr(vcard_import, "monotonic", lambda: next(clock))

    report = contacts.as_user(BOB).import_vcards(FRANCOIS_CARD + ZOE_CARD + card("N:Roux;Paul;;;"))

    assert (report["created"], report["failed"]) == (1, 2)
    assert [(error["card"], error["field"]) for error in report["errors"]] == [(2, "card"), (3, "card")]
    assert report["errors"][0]["reason"].startswith("not imported")
    assert sorted(_contacts_by_last_name(contacts.as_user(BOB))) == ["Lefèvre"]


def _limited(contacts, **limits) -> None:
    section = contacts.settings.contacts.model_copy(update=limits)
    contacts.settings = contacts.settings.model_copy(update={"contacts": section})


@pytest.mark.parametrize(
    ("limits", "content"),
    [
        ({"vcard_max_bytes": 1024}, FRANCOIS_CARD + card("N:Long;;;;", "NOTE:" + "é" * 600)),
        ({"vcard_max_cards": 2}, FRANCOIS_CARD * 3),
        ({}, "Ceci n'est pas un fichier vCard.\r\n"),
        ({}, card("FN:Zoé Gérard", "NOTE:" + "a\r\n " * 1_000_000 + "b")),
        ({"vcard_max_property_chars": 1000}, card("FN:Zoé Gérard", "NOTE:" + "a\r\n " * 1000 + "b")),
        (
            {},
            card("FN:Zoé Gérard", "NOTE;ENCODING=QUOTED-PRINTABLE:" + "=\r\n" * 200_000 + "b", version="2.1"),
        ),
    ],
    ids=["too many bytes", "too many cards", "no card", "4 MB of folds", "long property", "QP soft breaks"],
)
def test_a_file_too_big_or_without_cards_is_refused_whole(contacts, limits, content):
    _limited(contacts, **limits)
    footprint = contacts.footprint()

    with pytest.raises(InvalidInput) as refused:
        contacts.as_user(BOB).import_vcards(content)

    assert [error["field"] for error in refused.value.errors] == ["content"]
    assert contacts.footprint() == footprint


@pytest.mark.parametrize(
    "line",
    ["NOTE;CHARSET=UTF-7;ENCODING=QUOTED-PRINTABLE:+ADw-script+AD4-", "NOTE;CHARSET=UTF-7:+ADw-b+AD4-"],
)
def test_a_card_in_a_charset_that_can_hide_markup_is_refused_and_the_others_imported(contacts, line):
    # vobject decoded the quoted-printable value as UTF-7: "+ADw-script+AD4-" became "<script>".
    report = contacts.as_user(BOB).import_vcards(FRANCOIS_CARD + card("N:Gérard;Zoé;;;", line, version="2.1"))

    assert (report["created"], report["failed"]) == (1, 1)
    (error,) = report["errors"]
    assert (error["card"], error["field"]) == (2, "NOTE")
    assert "CHARSET=UTF-7 is refused" in error["reason"]
    assert sorted(_contacts_by_last_name(contacts.as_user(BOB))) == ["Lefèvre"]
