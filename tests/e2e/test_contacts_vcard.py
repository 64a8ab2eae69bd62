"""vCard through the gateway: one contact or a search as a .vcf download (3.0 and 4.0), a .vcf
file imported card by card with a report of the bad ones; with org scoping and read-only rules."""

from __future__ import annotations

from pathlib import Path

import vobject

from tests.e2e.conftest import create_user, unique

V1 = "/api/v1"
VCARD = {"Content-Type": "text/vcard; charset=utf-8"}


def _company(api, name: str, **fields) -> dict:
    response = api.post(f"{V1}/companies", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _contact(api, **fields) -> dict:
    response = api.post(f"{V1}/contacts", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


def _import(api, content: str, **params):
    return api.post(f"{V1}/contacts-import.vcf", data=content.encode("utf-8"), headers=VCARD, params=params)


def _report(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _cards(response) -> list:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    return list(vobject.readComponents(response.content.decode("utf-8")))


def _francois(api) -> dict:
    siege = _company(
        api, "Pomme Siège Central", group="Pomme", address={"street": "12 rue de la Paix", "city": "Paris"}
    )
    return _contact(
        api,
        first_name="François",
        last_name="Lefèvre",
        email=f"{unique('francois')}@exemple.fr",
        mobile="06 11 22 33 44",
        note="Rendez-vous au 3e étage; badge requis, merci.",
        employments=[
            {
                "company_id": siege["id"],
                "function": "Comptable",
                "phone": "01 42 68 53 02",
                "email": f"{unique('fl')}@pomme.fr",
            }
        ],
    )


def test_a_contact_downloads_as_a_vcard_3_named_after_them(org):
    api = org["admin"]
    francois = _francois(api)

    response = api.get(f"{V1}/contacts/{francois['id']}/vcard")

    (card,) = _cards(response)
    assert "filename*=UTF-8''Fran%C3%A7ois%20Lef%C3%A8vre.vcf" in response.headers["Content-Disposition"]
    assert (card.version.value, card.uid.value, card.fn.value) == ("3.0", francois["id"], "François Lefèvre")
    assert card.note.value == "Rendez-vous au 3e étage; badge requis, merci."
    assert [(line.group, line.value) for line in card.contents["org"]] == [("job1", ["Pomme Siège Central"])]
    assert [(line.group, line.value) for line in card.contents["title"]] == [("job1", "Comptable")]
    phones = {(line.group, tuple(line.params["TYPE"]), line.value) for line in card.contents["tel"]}
    assert phones == {
        (None, ("cell",), "+33 6 11 22 33 44"),
        ("job1", ("work", "voice"), "+33 1 42 68 53 02"),
    }
    assert all(len(line.encode()) <= 75 for line in response.content.decode().split("\r\n"))


def test_a_contact_downloads_as_a_vcard_4_with_tel_uris(org):
    api = org["admin"]
    francois = _francois(api)

    response = api.get(f"{V1}/contacts/{francois['id']}/vcard", params={"version": "4.0"})

    lines = response.content.decode("utf-8").split("\r\n")
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"]
    assert "TEL;TYPE=cell;VALUE=uri:tel:+33611223344" in lines
    assert _cards(response)[0].fn.value == "François Lefèvre"
    bad = api.get(f"{V1}/contacts/{francois['id']}/vcard", params={"version": "2.1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "version"


def test_the_list_download_holds_every_contact_the_search_finds_in_its_order(org):
    api = org["admin"]
    magasin = _company(api, "Pomme Magasin", group="Pomme")
    names = ["Bernard", "Arnaud", "Dubois", "Chevalier"]
    for name in names:
        _contact(api, first_name="Léa", last_name=name, employments=[{"company_id": magasin["id"]}])
    _contact(api, last_name="Sans-Emploi")

    response = api.get(
        f"{V1}/contacts-export.vcf", params={"q": "Pomme", "sort": "last_name", "direction": "desc"}
    )

    assert [card.n.value.family for card in _cards(response)] == sorted(names, reverse=True)
    assert 'filename="contacts.vcf"' in response.headers["Content-Disposition"]


def test_an_imported_file_creates_contacts_and_companies_and_reports_bad_cards(org):
    api = org["admin"]
    siege = _company(api, "Pomme Siège Central", group="Pomme")
    zoe_email = f"{unique('zoe')}@exemple.fr"
    content = "".join(
        [
            _card(
                "N:Martin;Zoé;;;",
                f"EMAIL;TYPE=INTERNET,HOME:{zoe_email}",
                "ORG:POMME SIÈGE CENTRAL",
                "TITLE:Directrice",
                "TEL;TYPE=WORK,VOICE:01 42 68 53 09",
            ),
            _card("N:Mauvais;Courriel;;;", "EMAIL:pas-une-adresse"),
            _card("FN:Paul Roux", "item1.ORG:Boulangerie Roux", "item1.TITLE:Gérant", version="4.0"),
        ]
    )

    dry = _report(_import(api, content, dry_run="true"))
    assert api.get(f"{V1}/contacts", params={"q": "Zoé"}).json()["items"] == []
    report = _report(_import(api, content))

    assert dry == report
    assert (report["created"], report["failed"]) == (2, 1)
    assert report["errors"] == [{"card": 2, "field": "EMAIL", "reason": report["errors"][0]["reason"]}]
    (zoe,) = api.get(f"{V1}/contacts", params={"q": "Zoé"}).json()["items"]
    assert (zoe["email"], zoe["current_companies"][0]["id"]) == (zoe_email, siege["id"])
    assert zoe["current_companies"][0]["function"] == "Directrice"
    (roux,) = api.get(f"{V1}/companies", params={"q": "Boulangerie Roux"}).json()["items"]
    assert roux["name"] == "Boulangerie Roux"


def test_reimporting_a_download_changes_nothing(org):
    api = org["admin"]
    _francois(api)
    _contact(api, first_name="Zoé", last_name="Martin", phone="04 72 00 00 01")

    for version in ("3.0", "4.0"):
        exported = api.get(f"{V1}/contacts-export.vcf", params={"version": version}).content.decode("utf-8")
        report = _report(_import(api, exported))
        assert report == {
            "created": 0,
            "updated": 0,
            "unchanged": 2,
            "failed": 0,
            "errors": [],
            "not_kept": [],
        }


def test_an_import_updates_the_contact_holding_the_email(org):
    api = org["admin"]
    email = f"{unique('jeanne')}@exemple.fr"
    jeanne = _contact(api, first_name="Jeanne", last_name="Dupont", email=email)

    report = _report(
        _import(api, _card("N:Dupont;Jeanne;;;", f"EMAIL:{email.upper()}", "NOTE:Client fidèle."))
    )

    assert (report["created"], report["updated"]) == (0, 1)
    assert api.get(f"{V1}/contacts/{jeanne['id']}").json()["note"] == "Client fidèle."


def test_an_import_body_must_be_vcard_text_within_the_limit(system, org):
    api = org["admin"]
    as_json = api.post(f"{V1}/contacts-import.vcf", json={"cards": []})
    assert as_json.status_code == 415
    no_card = _import(api, "Ceci n'est pas un fichier vCard.")
    assert no_card.status_code == 422 and no_card.json()["errors"][0]["field"] == "content"
    limit = system.settings.contacts.vcard_max_bytes
    too_big = api.post(f"{V1}/contacts-import.vcf", data=b" " * (limit + 1), headers=VCARD)
    assert too_big.status_code == 413
    assert too_big.json()["type"].endswith("too-large")


def test_read_only_user_downloads_vcards_but_cannot_import(system, org):
    api = org["admin"]
    francois = _francois(api)
    reader = system.login(create_user(api, read_only=True)["email"])

    assert reader.get(f"{V1}/contacts/{francois['id']}/vcard").status_code == 200
    assert reader.get(f"{V1}/contacts-export.vcf").status_code == 200
    refused = _import(reader, _card("N:Interdit;Import;;;"))
    assert refused.status_code == 403, refused.text
    assert api.get(f"{V1}/contacts", params={"q": "Interdit"}).json()["items"] == []


def test_another_orgs_contact_is_not_found_and_never_exported(system, org):
    _, other_email = system.bootstrap_org("Verger Voisin")
    other = system.login(other_email)
    foreign = _contact(other, first_name="Victor", last_name="Voisin")
    api = org["admin"]

    assert api.get(f"{V1}/contacts/{foreign['id']}/vcard").status_code == 404
    assert _cards(api.get(f"{V1}/contacts-export.vcf", params={"q": "Voisin"})) == []


FIXTURES = Path(__file__).parents[1] / "fixtures" / "vcard"


def test_an_outlook_vcard_uploaded_as_a_browser_sends_it_imports_in_its_own_charset(org):
    api = org["admin"]
    raw = (FIXTURES / "outlook_2.1_windows-1252.vcf").read_bytes()

    response = api.post(f"{V1}/contacts-import.vcf", data=raw, headers={"Content-Type": "text/x-vcard"})

    assert _report(response)["created"] == 1
    [contact] = api.get(f"{V1}/contacts", params={"q": "Lefèvre"}).json()["items"]
    assert (contact["first_name"], contact["last_name"]) == ("François", "Lefèvre")


def test_a_vcard_in_a_charset_that_can_hide_markup_stays_refused(org):
    api = org["admin"]
    raw = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-7:Zo\xe9\r\nEND:VCARD\r\n"

    named = api.post(
        f"{V1}/contacts-import.vcf", data=raw, headers={"Content-Type": "text/vcard; charset=utf-7"}
    )
    unnamed = api.post(f"{V1}/contacts-import.vcf", data=raw, headers={"Content-Type": "text/x-vcard"})

    assert named.status_code == 415
    report = _report(unnamed)
    assert report["failed"] == 1 and report["errors"][0]["field"] == "N"
    assert "CHARSET=UTF-7 is refused" in report["errors"][0]["reason"]


def test_an_apple_card_keeps_birthday_website_and_categories_and_reports_the_rest(org):
    api = org["admin"]
    raw = (FIXTURES / "apple_3.0.vcf").read_bytes()

    report = _report(api.post(f"{V1}/contacts-import.vcf", data=raw, headers={"Content-Type": "text/vcard"}))

    assert {"card": 1, "property": "item1.EMAIL (Compta)", "value": "compta@pomme.fr"} in report["not_kept"]
    [found] = api.get(f"{V1}/contacts", params={"q": "Martin"}).json()["items"]
    jeanne = api.get(f"{V1}/contacts/{found['id']}").json()
    assert (jeanne["birthday"], jeanne["website"]) == ("1985-06-21", "https://jeanne-martin.example")
    exported = api.get(f"{V1}/contacts/{jeanne['id']}/vcard").text
    assert "BDAY:1985-06-21" in exported and "CATEGORIES:Clients,Salon Lyon 2026" in exported
