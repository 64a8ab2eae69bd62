"""Contacts through the gateway: companies and their sites, contacts, employments,
interests, search; with org scoping and read-only rules."""

from __future__ import annotations

from tests.e2e.conftest import create_user, unique

V1 = "/api/v1"


def _company(api, name: str, **fields) -> dict:
    response = api.post(f"{V1}/companies", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _contact(api, **fields) -> dict:
    response = api.post(f"{V1}/contacts", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _interest(api, name: str) -> str:
    response = api.post(f"{V1}/interests", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _all_pages(api, path: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_a_search_for_the_group_finds_every_site(org):
    api = org["admin"]
    for site in ("Pomme Siège Central", "Pomme Magasin", "Pomme Entrepôts"):
        _company(api, site, group="Pomme")
    _company(api, "Poire & Cie", group="Poire")
    found = api.get(f"{V1}/companies", params={"q": "pomme"}).json()["items"]
    assert sorted(company["name"] for company in found) == [
        "Pomme Entrepôts",
        "Pomme Magasin",
        "Pomme Siège Central",
    ]


def test_company_and_its_contacts_are_created_in_one_call(org):
    api = org["admin"]
    response = api.post(
        f"{V1}/companies-with-contacts",
        json={
            "company": {
                "name": "Pomme Siège Central",
                "group": "Pomme",
                "phone": "01 42 68 53 00",
                "address": {"street": "12 rue des Vergers", "postal_code": "75011", "city": "Paris"},
            },
            "contacts": [
                {
                    "first_name": "François",
                    "last_name": "Durand",
                    "email": f"{unique('fd')}@pomme.fr",
                    "employment": {"function": "Comptable", "start_date": "2024-03-01"},
                },
                {
                    "first_name": "Zoé",
                    "last_name": "Martin",
                    "mobile": "06 12 34 56 78",
                    "employment": {"function": "Directrice"},
                },
            ],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    company = api.get(f"{V1}/companies/{created['company']['id']}").json()
    assert sorted((c["last_name"], c["function"]) for c in company["contacts"]) == [
        ("Durand", "Comptable"),
        ("Martin", "Directrice"),
    ]
    francois = api.get(f"{V1}/contacts/{created['contacts'][0]['id']}").json()
    assert francois["first_name"] == "François"
    assert [(e["company"]["name"], e["start_date"]) for e in francois["employments"]] == [
        ("Pomme Siège Central", "2024-03-01")
    ]


def test_a_bad_contact_rejects_the_whole_call_and_names_the_field(org):
    api = org["admin"]
    before = len(_all_pages(api, f"{V1}/companies"))
    response = api.post(
        f"{V1}/companies-with-contacts",
        json={
            "company": {"name": "Brioche & Fils"},
            "contacts": [{"last_name": "Bon"}, {"last_name": "Mauvais", "email": "pas-une-adresse"}],
        },
    )
    assert response.status_code == 422
    assert "contacts.1.email" in [error["field"] for error in response.json()["errors"]]
    assert len(_all_pages(api, f"{V1}/companies")) == before


def test_duplicate_contact_email_is_409_naming_the_existing_contact(org):
    api = org["admin"]
    email = f"{unique('claire')}@pomme.fr"
    first = _contact(api, first_name="Claire", last_name="Dupont", email=email)
    response = api.post(f"{V1}/contacts", json={"last_name": "Autre", "email": email.upper()})
    assert response.status_code == 409
    assert first["id"] in response.json()["detail"]
    assert [error["field"] for error in response.json()["errors"]] == ["email"]


def test_phone_search_is_normalised(org):
    api = org["admin"]
    zoe = _contact(api, first_name="Zoé", last_name="Martin", mobile="+33 6 12 34 56 78")
    for typed in ("06 12 34 56 78", "+33612345678", "0612345678"):
        found = api.get(f"{V1}/contacts", params={"q": typed}).json()["items"]
        assert [contact["id"] for contact in found] == [zoe["id"]], typed


def test_contacts_are_found_by_their_company(org):
    api = org["admin"]
    magasin = _company(api, "Pomme Magasin", group="Pomme")
    employed = _contact(
        api, last_name="Leroy", employments=[{"company_id": magasin["id"], "function": "Vendeur"}]
    )
    _contact(api, last_name="Sans-Emploi")
    found = api.get(f"{V1}/contacts", params={"q": "Pomme"}).json()["items"]
    assert [contact["id"] for contact in found] == [employed["id"]]


def test_sorting_and_pagination_walk_every_contact_once_in_both_directions(org):
    api = org["admin"]
    names = ["Bernard", "Arnaud", "Dubois", "Chevalier", "Etienne"]
    for name in names:
        _contact(api, last_name=name)
    ascending = [c["last_name"] for c in _all_pages(api, f"{V1}/contacts", sort="last_name", limit=2)]
    descending = [
        c["last_name"] for c in _all_pages(api, f"{V1}/contacts", sort="last_name", direction="desc", limit=2)
    ]
    assert ascending == sorted(names)
    assert descending == sorted(names, reverse=True)
    bad = api.get(f"{V1}/contacts", params={"sort": "password"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"


def test_recruiting_agency_finds_candidates_and_companies_by_interests(org):
    api = org["admin"]
    libre, comptable, en_recherche = (
        _interest(api, name) for name in ("Libre", "Comptable", "A la recherche")
    )
    cabinet = _company(api, "Cabinet Chiffres")
    atelier = _company(api, "Atelier Bois")
    alice = _contact(api, last_name="Alice", interests=[libre, comptable])
    _contact(api, last_name="Bruno", interests=[libre])
    chloe = _contact(
        api,
        last_name="Chloé",
        interests=[en_recherche, comptable],
        employments=[{"company_id": cabinet["id"], "function": "Aide-comptable"}],
    )
    _contact(api, last_name="Denis", interests=[en_recherche], employments=[{"company_id": atelier["id"]}])

    both = api.get(f"{V1}/interests/matching/contacts", params={"interests": f"{libre},{comptable}"}).json()
    assert [contact["id"] for contact in both["items"]] == [alice["id"]]
    either = api.get(
        f"{V1}/interests/matching/contacts", params={"interests": f"{libre},{comptable}", "match": "any"}
    ).json()
    assert len(either["items"]) == 3
    hiring = api.get(
        f"{V1}/interests/matching/companies", params={"interests": f"{en_recherche},{comptable}"}
    ).json()
    assert [company["id"] for company in hiring["items"]] == [cabinet["id"]]
    with_companies = api.get(
        f"{V1}/interests/matching/contacts", params={"interests": f"{en_recherche},{comptable}"}
    ).json()["items"]
    assert [c["name"] for c in with_companies[0]["current_companies"]] == ["Cabinet Chiffres"]
    assert chloe["id"] == with_companies[0]["id"]


def test_deleting_a_company_archives_it_keeping_its_employments_and_contacts(org):
    api = org["admin"]
    entrepots = _company(api, "Pomme Entrepôts", group="Pomme")
    gaston = _contact(
        api,
        first_name="Gaston",
        last_name="Lagaffe",
        employments=[{"company_id": entrepots["id"], "function": "Magasinier"}],
    )
    assert api.delete(f"{V1}/companies/{entrepots['id']}").status_code == 204
    assert api.get(f"{V1}/companies/{entrepots['id']}").status_code == 404
    kept = api.get(f"{V1}/contacts/{gaston['id']}").json()
    # Not current while the company is archived; as it was, so that a restore brings it back.
    assert [employment["current"] for employment in kept["employments"]] == [False]
    assert kept["employments"][0]["end_date"] is None


def test_another_orgs_records_are_not_found_and_cannot_be_linked(system, org):
    _, other_email = system.bootstrap_org("Verger Voisin")
    other = system.login(other_email)
    foreign_company = _company(other, "Voisin SARL")
    foreign_contact = _contact(other, last_name="Voisin")
    api = org["admin"]
    assert api.get(f"{V1}/companies/{foreign_company['id']}").status_code == 404
    assert api.get(f"{V1}/contacts/{foreign_contact['id']}").status_code == 404
    assert api.patch(f"{V1}/contacts/{foreign_contact['id']}", json={"note": "volé"}).status_code == 404
    mine = _contact(api, last_name="Mien")
    linking = api.post(f"{V1}/contacts/{mine['id']}/employments", json={"company_id": foreign_company["id"]})
    assert linking.status_code == 422
    assert [error["field"] for error in linking.json()["errors"]] == ["company_id"]
    assert api.get(f"{V1}/companies", params={"q": "Voisin"}).json()["items"] == []


def test_read_only_user_reads_contacts_but_cannot_change_them(system, org):
    api = org["admin"]
    company = _company(api, "Pomme Magasin", group="Pomme")
    reader = system.login(create_user(api, read_only=True)["email"])
    assert reader.get(f"{V1}/companies/{company['id']}").status_code == 200
    for response in (
        reader.post(f"{V1}/companies", json={"name": "Interdit"}),
        reader.patch(f"{V1}/companies/{company['id']}", json={"name": "Renommé"}),
        reader.delete(f"{V1}/companies/{company['id']}"),
        reader.post(f"{V1}/contacts", json={"last_name": "Interdit"}),
        reader.post(f"{V1}/interests", json={"name": "Interdit"}),
    ):
        assert response.status_code == 403, response.text
    assert api.get(f"{V1}/companies/{company['id']}").json()["name"] == "Pomme Magasin"
