"""What a card keeps beyond names, jobs and ways to reach (birthday, website, extensions,
CATEGORIES as interests), and what it reports as not kept, imported as Apple, Google and Outlook
write them."""

from __future__ import annotations

from pathlib import Path

from services.contacts.vcard.charsets import decode_vcf
from services.contacts.vcard.extras import birthday_of
from tests.people import BOB, FRANCOIS


def card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


def _contacts_by_last_name(worker) -> dict[str, dict]:
    found = worker.search_contacts(limit=200)["items"]
    return {contact["last_name"]: worker.get_contact(contact["id"]) for contact in found}


def test_a_birthday_needs_its_year():
    found = [birthday_of(text) for text in ("1985-06-21", "19850621", "--0621", "1985-02-30")]

    assert [str(day) for day in found] == ["1985-06-21", "1985-06-21", "None", "None"]


FIXTURES = Path(__file__).parents[3] / "fixtures" / "vcard"


def _fixture(name: str) -> str:
    return decode_vcf((FIXTURES / name).read_bytes())


def test_an_apple_card_keeps_birthday_website_extension_and_categories_as_interests(contacts):
    bob = contacts.as_user(BOB)

    report = bob.import_vcards(_fixture("apple_3.0.vcf"))

    assert report["created"] == 1
    (jeanne,) = _contacts_by_last_name(bob).values()
    assert (jeanne["first_name"], jeanne["birthday"], jeanne["website"]) == (
        "Jeanne",
        "1985-06-21",
        "https://jeanne-martin.example",
    )
    names = {interest["id"]: interest["name"] for interest in bob.list_interests()["items"]}
    assert sorted(names[interest] for interest in jeanne["interests"]) == ["Clients", "Salon Lyon 2026"]
    (employment,) = jeanne["employments"]
    assert (employment["phone"], employment["phone_e164"]) == ("+33 1 45 67 89 10 ext. 102", "+33145678910")


def test_what_a_card_holds_that_the_crm_has_no_place_for_is_reported_per_card(contacts):
    report = contacts.as_user(BOB).import_vcards(_fixture("google_3.0.vcf") + _fixture("apple_3.0.vcf"))

    assert report["not_kept"] == [
        {"card": 1, "property": "NICKNAME", "value": "Clo"},
        {"card": 2, "property": "N (middle name)", "value": "Marie"},
        {"card": 2, "property": "ORG (unit)", "value": "Comptabilité"},
        {"card": 2, "property": "NICKNAME", "value": "Jeannot"},
        {"card": 2, "property": "item1.EMAIL (Compta)", "value": "compta@pomme.fr"},
        {"card": 2, "property": "PHOTO", "value": "a photo (124 characters)"},
    ]


def test_categories_add_interests_and_take_none_away(contacts):
    bob = contacts.as_user(BOB)
    fidele = bob.create_interest({"name": "Fidèle"})
    bob.create_contact({**FRANCOIS, "interests": [fidele["id"]]})

    report = bob.import_vcards(
        card("N:Lefèvre;François;;;", f"EMAIL:{FRANCOIS['email']}", "CATEGORIES:fidèle,VIP")
    )

    assert report["updated"] == 1
    (francois,) = _contacts_by_last_name(bob).values()
    names = {interest["id"]: interest["name"] for interest in bob.list_interests()["items"]}
    assert sorted(names[interest] for interest in francois["interests"]) == ["Fidèle", "VIP"]
    again = bob.import_vcards(card("N:Lefèvre;François;;;", f"EMAIL:{FRANCOIS['email']}", "CATEGORIES:VIP"))
    assert again["unchanged"] == 1
