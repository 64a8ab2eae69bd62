"""Writing a contact as a vCard, without a database: folding, groups, versions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import vobject

from services.contacts.models import Company, Contact, Employment
from services.contacts.vcard.writer import Job, fold_lines, write_card

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _contact(**fields) -> Contact:
    defaults = {
        "id": "client-42",
        "first_name": "Zoé",
        "last_name": "Martin",
        "social": {},
        "updated_at": NOW,
    }
    return Contact(**{**defaults, **fields})


def _job(name: str, function: str, current: bool, **fields) -> Job:
    company = Company(id=f"société-{name}", name=name)
    return Job(Employment(function=function, start_date=date(2024, 1, 1), **fields), company, current)


def test_lines_are_folded_at_75_octets_between_characters():
    line = "FN:" + "é" * 40  # 43 characters, 83 octets

    folded = fold_lines(f"BEGIN:VCARD\r\n{line}\r\nEND:VCARD\r\n")

    assert all(len(physical.encode()) <= 75 for physical in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == f"BEGIN:VCARD\r\n{line}\r\nEND:VCARD\r\n"


def test_a_short_line_of_accents_is_folded_too():
    content = write_card(_contact(note="é" * 36), [], "3.0")  # "NOTE:" and 72 octets

    assert all(len(line.encode()) <= 75 for line in content.split("\r\n"))
    assert vobject.readOne(content).note.value == "é" * 36


def test_a_past_job_shows_its_company_and_function_only():
    jobs = [
        _job("Boulangerie Martin", "Gérante", True, phone_e164="+33240123456", email="zoe@martin.fr"),
        _job("Pomme Magasin", "Vendeuse", False, phone_e164="+33478000000", email="zoe@pomme.fr"),
    ]

    lines = write_card(_contact(), jobs, "3.0").split("\r\n")

    assert [line for line in lines if line.startswith("job")] == [
        "job1.EMAIL;TYPE=internet,work:zoe@martin.fr",
        "job1.ORG:Boulangerie Martin",
        "job2.ORG:Pomme Magasin",
        "job1.TEL;TYPE=work,voice:+33 2 40 12 34 56",
        "job1.TITLE:Gérante",
        "job2.TITLE:Vendeuse",
    ]


def test_each_version_says_so_first_and_dates_the_card_in_utc():
    for version in ("3.0", "4.0"):
        lines = write_card(_contact(), [], version).split("\r\n")

        assert lines[:3] == ["BEGIN:VCARD", f"VERSION:{version}", "PRODID:-//crm-backend//Contacts//FR"]
        assert "REV:20260302T093000Z" in lines
        assert lines[-2:] == ["END:VCARD", ""]


def test_version_4_escapes_semicolons_only_in_structured_values_and_never_in_uris():
    contact = _contact(
        last_name="Dupont; dit Dupond",
        note="Remise: 5 %; à 30 jours",
        website="https://pomme.example/a;b,c",
        social={"linkedin": "https://www.linkedin.com/in/jeanne;x"},
    )

    lines = write_card(contact, [], "4.0", ["Salon; Lyon"]).replace("\r\n ", "").split("\r\n")

    assert "FN:Zoé Dupont; dit Dupond" in lines
    assert "N:Dupont\\; dit Dupond;Zoé;;;" in lines
    assert "NOTE:Remise: 5 %; à 30 jours" in lines
    assert "CATEGORIES:Salon; Lyon" in lines
    assert "URL:https://pomme.example/a;b,c" in lines
    assert "SOCIALPROFILE;SERVICE-TYPE=linkedin:https://www.linkedin.com/in/jeanne;x" in lines


def test_version_3_keeps_apples_x_socialprofile_and_escapes_text_semicolons():
    contact = _contact(last_name="Dupont; dit Dupond", social={"linkedin": "https://www.linkedin.com/in/j"})

    lines = write_card(contact, [], "3.0").split("\r\n")

    assert "FN:Zoé Dupont\\; dit Dupond" in lines
    assert "X-SOCIALPROFILE;TYPE=linkedin:https://www.linkedin.com/in/j" in lines
