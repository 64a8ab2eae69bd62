"""The product's field mapping between a CRM contact and a Google person, and the conflict rule."""

from __future__ import annotations

from dataclasses import replace

from services.sync.google.mapping import (
    PROFESSIONAL_MARK,
    CrmContact,
    Employment,
    SharedView,
    contact_fields,
    crm_id_of,
    last_modified_side,
    person_body,
    split_note,
    view_of_contact,
    view_of_person,
)

ANNE = CrmContact(
    id="0190a1b2-0000-7000-8000-000000000001",
    first_name="Anne",
    last_name="Durand",
    email="Anne.Durand@gmail.com",
    phone="01 23 45 67 89",
    mobile="+33 6 12 34 56 78",
    note="Rencontrée au salon",
    version=3,
    updated_ms=1_000,
    employments=(
        Employment("Pomme Siège Central", "Acheteuse", "a.durand@pomme.fr", "+33 1 40 00 00 00", None, 2_000),
    ),
)


def google_person(**fields) -> dict:
    return {"resourceName": "people/c1", "etag": "%x", **fields}


def test_crm_contact_maps_to_googles_typed_fields():
    body = person_body(view_of_contact(ANNE), ANNE.id)

    assert body["names"] == [{"givenName": "Anne", "familyName": "Durand"}]
    assert body["emailAddresses"] == [
        {"value": "anne.durand@gmail.com", "type": "home"},
        {"value": "a.durand@pomme.fr", "type": "work"},
    ]
    assert body["phoneNumbers"] == [
        {"value": "01 23 45 67 89", "type": "home"},
        {"value": "+33 6 12 34 56 78", "type": "mobile"},
        {"value": "+33 1 40 00 00 00", "type": "work"},
    ]
    assert body["organizations"] == [{"name": "Pomme Siège Central", "title": "Acheteuse"}]
    assert body["biographies"] == [{"value": "Rencontrée au salon", "contentType": "TEXT_PLAIN"}]
    assert crm_id_of(body) == ANNE.id


def test_googles_professional_details_go_into_the_note():
    person = google_person(
        names=[{"givenName": "Bruno", "familyName": "Petit"}],
        emailAddresses=[
            {"value": "bruno@gmail.com", "type": "home"},
            {"value": "b.petit@poire.fr", "type": "work"},
        ],
        phoneNumbers=[
            {"value": "+33 6 00 00 00 01", "type": "mobile"},
            {"value": "+33 1 00 00 00 02", "type": "work"},
        ],
        organizations=[{"name": "Poire SA", "title": "Directeur"}],
        biographies=[{"value": "Client depuis 2019"}],
    )

    fields = contact_fields(view_of_person(person))

    assert (fields["first_name"], fields["last_name"], fields["email"]) == (
        "Bruno",
        "Petit",
        "bruno@gmail.com",
    )
    assert (fields["phone"], fields["mobile"]) == (None, "+33 6 00 00 00 01")
    assert fields["note"] == (
        f"Client depuis 2019\n\n{PROFESSIONAL_MARK}\nOrganisation: Poire SA\nFunction: Directeur\n"
        "Work e-mail: b.petit@poire.fr\nWork phone: +33 1 00 00 00 02"
    )


def test_a_contact_written_from_google_maps_back_to_the_same_person():
    person = google_person(
        names=[{"givenName": "Chloé"}],
        emailAddresses=[{"value": "chloe@pomme.fr", "type": "work"}],
        organizations=[{"name": "Pomme"}, {"title": "Bénévole"}],
    )
    google = view_of_person(person)
    fields = contact_fields(google)
    contact = CrmContact(
        "c", fields["first_name"], fields["last_name"], fields["email"], None, None, fields["note"], 1, 0
    )

    assert view_of_contact(contact) == google
    assert split_note(fields["note"])[0] is None


def test_with_an_employment_the_note_keeps_only_what_google_says_otherwise():
    same = view_of_contact(ANNE)
    other_title = replace(same, organizations=(("Pomme Siège Central", "Directrice achats"),))

    assert contact_fields(same, ANNE)["note"] == "Rencontrée au salon"
    assert "Function: Directrice achats" in contact_fields(other_title, ANNE)["note"]
    # The employment stays what the CRM says: a company cannot be identified from Google's data.
    assert view_of_contact(replace(ANNE, note=contact_fields(other_title, ANNE)["note"])).organizations == (
        ("Pomme Siège Central", "Acheteuse"),
    )


def test_an_untyped_google_email_is_the_personal_one():
    view = view_of_person(google_person(emailAddresses=[{"value": "Zoe@Example.com"}]))

    assert (view.home_email, view.work_email) == ("zoe@example.com", None)


def test_first_link_fills_what_the_winner_lacks_from_the_other():
    crm = SharedView(given="Anne", family="Durand", home_phone="01 23 45 67 89")
    google = SharedView(given="Anna", home_email="anne@gmail.com")

    assert google.filled_from(crm) == SharedView(
        given="Anna", family="Durand", home_email="anne@gmail.com", home_phone="01 23 45 67 89"
    )


def test_the_last_modified_side_wins_and_a_tie_goes_to_the_crm():
    assert last_modified_side(crm_changed_ms=2_000, google_changed_ms=3_000) == "google"
    assert last_modified_side(crm_changed_ms=3_000, google_changed_ms=2_000) == "crm"
    assert last_modified_side(crm_changed_ms=3_000, google_changed_ms=3_000) == "crm"


def test_an_echo_of_our_own_write_is_no_change():
    google = view_of_person({"names": [{"givenName": "Anne", "displayName": "Anne"}], "etag": "%1"})

    assert google == SharedView.from_json(google.to_json())
    assert google.differences(replace(google, family="Durand")) == ["family"]
