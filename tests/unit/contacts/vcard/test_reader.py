"""Reading cards out of .vcf files (2.1, 3.0, 4.0) in the CRM's words."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from services.contacts.vcard.reader import CardText, read_card, split_cards


def _card(*lines: str, version: str = "3.0") -> CardText:
    text = "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"
    return CardText(1, text, complete=True)


def _refusal(piece: CardText) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as refused:
        read_card(piece)
    return refused.value.errors[0]["field"], refused.value.errors[0]["message"]


# -- cutting a file into cards ----------------------------------------------------


def test_cards_are_numbered_in_file_order_whatever_the_line_ends():
    content = "\ufeffBEGIN:VCARD\nFN:Jeanne\nEND:VCARD\rBEGIN:VCARD\r\nFN:Zoé\r\nEND:VCARD\r\n"

    cards = split_cards(content)

    assert [(card.number, card.complete) for card in cards] == [(1, True), (2, True)]
    assert "FN:Zoé" in cards[1].text


def test_a_card_left_open_ends_where_the_next_begins():
    content = "BEGIN:VCARD\nFN:Sans Fin\nBEGIN:VCARD\nFN:Zoé Martin\nEND:VCARD\n"

    cards = split_cards(content)

    assert [(card.number, card.complete) for card in cards] == [(1, False), (2, True)]
    assert "Zoé" not in cards[0].text


def test_text_between_cards_and_folded_lines_do_not_make_cards():
    content = "Exporté le 3 mars\nBEGIN:VCARD\nNOTE:une note\n BEGIN:VCARD pliée\nEND:VCARD\n\nFin.\n"

    assert [card.number for card in split_cards(content)] == [1]


# -- reading a card ---------------------------------------------------------------


def test_each_org_group_carries_its_title_and_work_details():
    card = read_card(
        _card(
            "N:Dupont;Jeanne;;;",
            "job1.ORG:Pomme Siège Central",
            "job1.TITLE:Directrice des achats",
            "job1.TEL;TYPE=work,voice:+33 1 42 68 53 01",
            "job1.TEL;TYPE=work,cell:+33 6 98 76 54 32",
            "job1.EMAIL;TYPE=internet,work:j.dupont@pomme.fr",
            "job2.ORG:Cabinet Dupuis;Comptabilité",
            "job2.TITLE:Stagiaire",
            "TEL;TYPE=cell:06 12 34 56 78",
        )
    )

    assert card.jobs == [
        {
            "company": "Pomme Siège Central",
            "employment": {
                "function": "Directrice des achats",
                "phone": "+33 1 42 68 53 01",
                "mobile": "+33 6 98 76 54 32",
                "email": "j.dupont@pomme.fr",
            },
        },
        {"company": "Cabinet Dupuis", "employment": {"function": "Stagiaire"}},
    ]
    assert card.contact == {"first_name": "Jeanne", "last_name": "Dupont", "mobile": "06 12 34 56 78"}


def test_work_details_outside_org_groups_go_with_the_first_org_without_a_group():
    card = read_card(
        _card(
            "FN:Zoé Martin",
            "item1.ORG:Boulangerie Martin",
            "ORG:Pomme Magasin",
            "TITLE:Vendeuse",
            "item2.EMAIL;TYPE=INTERNET,WORK:zoe@pomme.fr",
            "item2.X-ABLabel:_$!<Work>!$_",
            "TEL;TYPE=HOME:04 72 00 00 01",
        )
    )

    assert [job["company"] for job in card.jobs] == ["Boulangerie Martin", "Pomme Magasin"]
    assert card.jobs[1]["employment"] == {"function": "Vendeuse", "email": "zoe@pomme.fr"}
    assert card.contact["phone"] == "04 72 00 00 01"


def test_work_details_without_any_org_stay_with_the_contact():
    card = read_card(
        _card(
            "N:Roux;Paul;;;", "TITLE:Consultant", "EMAIL;TYPE=WORK:paul@roux.fr", "TEL;TYPE=WORK:0240123456"
        )
    )

    assert card.jobs == []
    assert card.contact == {
        "first_name": "Paul",
        "last_name": "Roux",
        "email": "paul@roux.fr",
        "phone": "0240123456",
    }


def test_preferred_values_win_and_fax_numbers_are_left_out():
    card = read_card(
        _card(
            "N:Dupont;Jeanne;;;",
            "EMAIL;TYPE=home:ancienne@exemple.fr",
            "EMAIL;TYPE=home,pref:jeanne@exemple.fr",
            "TEL;TYPE=fax:01 45 67 89 99",
            "TEL;TYPE=home:01 45 67 89 10",
        )
    )

    assert card.contact["email"] == "jeanne@exemple.fr"
    assert card.contact["phone"] == "01 45 67 89 10"


def test_a_version_2_1_card_with_quoted_printable_and_bare_types_is_read():
    card = read_card(
        _card(
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Lef=C3=A8vre;Fran=C3=A7ois",
            "ORG:Pomme Entrepôts",
            "TEL;WORK;VOICE:01 49 78 00 00",
            "TEL;CELL:06 11 22 33 44",
            "EMAIL;PREF;INTERNET:francois.lefevre@exemple.fr",
            version="2.1",
        )
    )

    assert (card.contact["first_name"], card.contact["last_name"]) == ("François", "Lefèvre")
    assert card.contact["mobile"] == "06 11 22 33 44"
    assert card.jobs[0]["employment"] == {"phone": "01 49 78 00 00"}


def test_a_version_4_card_gives_its_name_from_fn_and_values_from_uris():
    card = read_card(
        _card(
            "UID:urn:uuid:0190f1e2-7c3a-7b4d-9e8f-123456789abc",
            "FN:Jean de La Fontaine",
            'TEL;VALUE=uri;TYPE="voice,home":tel:+33-1-42-68-53-00;ext=12',
            "EMAIL;PREF=1:mailto:jean@fables.fr",
            version="4.0",
        )
    )

    assert card.uid == "0190f1e2-7c3a-7b4d-9e8f-123456789abc"
    assert (card.contact["first_name"], card.contact["last_name"]) == ("Jean", "de La Fontaine")
    assert card.contact["phone"] == "+33-1-42-68-53-00 ext. 12"
    assert card.contact["email"] == "jean@fables.fr"


def test_commas_a_writer_did_not_escape_are_kept_and_escapes_are_undone():
    card = read_card(
        _card(
            "N:Dupont\\, dit Dupond;Jeanne;;;",
            "ORG:Pomme\\, Poire & Cie\\; SA",
            "TITLE:Directrice, achats",
            "NOTE:Bonjour, merci\\; à bientôt.\\nJeanne \\\\ Pomme",
        )
    )

    assert card.contact["last_name"] == "Dupont, dit Dupond"
    assert card.jobs[0]["company"] == "Pomme, Poire & Cie; SA"
    assert card.jobs[0]["employment"]["function"] == "Directrice, achats"
    assert card.contact["note"] == "Bonjour, merci; à bientôt.\nJeanne \\ Pomme"


def test_a_photo_is_left_out_even_when_it_cannot_be_decoded():
    card = read_card(_card("N:Dupont;Jeanne;;;", "PHOTO;ENCODING=b;TYPE=JPEG:!!!pas du base64"))

    assert card.contact == {"first_name": "Jeanne", "last_name": "Dupont"}


def test_an_address_keeps_its_street_lines_on_one_line():
    card = read_card(
        _card(
            "N:Dupont;Jeanne;;;",
            "ADR;TYPE=home:BP 12;Bât. B;3 place du Marché\\nEscalier 2;Lyon;Rhône;69001;France",
        )
    )

    assert card.contact["address"] == {
        "street": "3 place du Marché, Escalier 2, Bât. B, BP 12",
        "postal_code": "69001",
        "city": "Lyon",
        "country": "France",
    }


def test_social_profiles_come_from_x_socialprofile_and_known_sites():
    card = read_card(
        _card(
            "N:Dupont;Jeanne;;;",
            "X-SOCIALPROFILE;TYPE=twitter:https://twitter.com/jeanne",
            "URL:https://fr.linkedin.com/in/jeanne-dupont",
            "URL:https://www.boulangerie-martin.fr",
        )
    )

    assert card.contact["social"] == {
        "x": "https://twitter.com/jeanne",
        "linkedin": "https://fr.linkedin.com/in/jeanne-dupont",
    }


def test_a_url_that_is_not_one_is_passed_over_and_the_card_is_read():
    card = read_card(
        _card(
            "N:Dupont;Jeanne;;;", "URL:http://[boulangerie-martin.fr", "URL:https://fr.linkedin.com/in/jeanne"
        )
    )

    assert card.contact["social"] == {"linkedin": "https://fr.linkedin.com/in/jeanne"}


def test_errors_name_the_property_a_field_came_from():
    card = read_card(_card("N:Dupont;Jeanne;;;", "job1.ORG:Pomme", "job1.TEL;TYPE=work:12", "ADR:;;;Lyon;;;"))

    assert card.property_of("jobs.0.employment.phone") == "job1.TEL"
    assert card.property_of("jobs.0.name") == "job1.ORG"
    assert card.property_of("address.city") == "ADR"
    assert card.property_of("last_name") == "N"
    assert card.property_of("interests") == "card"


@pytest.mark.parametrize(
    ("piece", "field"),
    [
        (_card("TEL:01 45 67 89 10", "NOTE:ni nom ni adresse"), "N"),
        (_card("FN:Pomme", "KIND:org", version="4.0"), "KIND"),
        (_card("N:Dupont;Jeanne;;;", "ceci n'est pas une propriété"), "card"),
        (CardText(1, "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Dupont;Jeanne;;;", complete=False), "END"),
    ],
    ids=["no name nor e-mail", "organisation", "unreadable line", "not closed"],
)
def test_a_card_that_cannot_be_a_contact_is_refused_naming_why(piece, field):
    assert _refusal(piece)[0] == field


def test_a_card_with_only_an_email_is_read():
    card = read_card(_card("EMAIL:jeanne.dupont@exemple.fr"))

    assert card.contact == {"email": "jeanne.dupont@exemple.fr"}


def test_rfc_9554_socialprofile_is_read_by_its_service_type_as_apples_x_socialprofile_is():
    card = read_card(
        _card(
            "FN:Zoé Martin",
            "SOCIALPROFILE;SERVICE-TYPE=LinkedIn:https://www.linkedin.com/in/zoe",
            "X-SOCIALPROFILE;TYPE=twitter:https://x.com/zoe",
            version="4.0",
        )
    )

    assert card.contact["social"] == {"linkedin": "https://www.linkedin.com/in/zoe", "x": "https://x.com/zoe"}
