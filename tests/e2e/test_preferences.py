"""Remembered preferences through the gateway: a user saves a sort, and the lists remember it."""

from __future__ import annotations

from tests.e2e.conftest import create_user

V1 = "/api/v1"


def _put(api, document: dict):
    return api.request("PUT", f"{V1}/me/preferences", json=document)


def _contact(api, first_name: str, last_name: str) -> None:
    response = api.post(f"{V1}/contacts", json={"first_name": first_name, "last_name": last_name})
    assert response.status_code == 201, response.text


def _last_names(page: dict) -> list[str]:
    return [item["last_name"] for item in page["items"]]


def test_a_saved_contact_sort_orders_the_list_and_the_page_says_so(org):
    api = org["admin"]
    _contact(api, "Zoé", "Abel")
    _contact(api, "Amélie", "Martin")
    _contact(api, "Marc", "Zola")

    usual = api.get(f"{V1}/contacts").json()
    assert _last_names(usual) == ["Abel", "Martin", "Zola"]
    assert usual["sort"] == {"field": "last_name", "direction": "asc", "source": "default"}

    saved = _put(api, {"lists": {"contacts": {"sort": "first_name", "direction": "desc"}}, "language": "fr"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["lists"]["contacts"] == {"sort": "first_name", "direction": "desc"}

    remembered = api.get(f"{V1}/contacts")
    assert remembered.status_code == 200, remembered.text
    assert _last_names(remembered.json()) == ["Abel", "Zola", "Martin"]  # Zoé, Marc, Amélie
    assert remembered.json()["sort"] == {"field": "first_name", "direction": "desc", "source": "preferences"}

    explicit = api.get(f"{V1}/contacts", params={"sort": "last_name", "direction": "desc"}).json()
    assert _last_names(explicit) == ["Zola", "Martin", "Abel"]
    assert explicit["sort"] == {"field": "last_name", "direction": "desc", "source": "request"}

    ignored = api.get(f"{V1}/contacts", params={"use_preferences": "false"}).json()
    assert _last_names(ignored) == ["Abel", "Martin", "Zola"]

    assert api.get(f"{V1}/me/preferences").json() == saved.json()


def test_bad_preferences_are_a_422_naming_the_field_and_nothing_is_saved(org):
    api = org["admin"]
    assert _put(api, {"lists": {"companies": {"sort": "city"}}}).status_code == 200
    before = api.get(f"{V1}/me/preferences").json()

    for document, field in [
        ({"lists": {"companies": {"sort": "shoe_size"}}}, "lists.companies.sort"),
        ({"agenda": {"view": "fortnight"}}, "agenda.view"),
        ({"date_format": "YY/M/D"}, "date_format"),
        ({"language": "fr", "colour": "blue"}, "colour"),
    ]:
        response = _put(api, document)
        assert response.status_code == 422, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert field in [error["field"] for error in response.json()["errors"]]

    assert api.get(f"{V1}/me/preferences").json() == before
    companies = api.get(f"{V1}/companies").json()
    assert companies["sort"] == {"field": "city", "direction": "asc", "source": "preferences"}


def test_a_read_only_user_saves_their_own_preferences_and_their_lists_use_them(org, system):
    admin = org["admin"]
    reader = create_user(admin, read_only=True)
    api = system.login(reader["email"])
    meeting = {"subject": "Réunion chantier", "type": "meeting", "start_at": "2026-12-01T09:00:00+01:00"}
    assert admin.post(f"{V1}/interactions", json=meeting).status_code == 201

    response = _put(api, {"lists": {"interactions": {"user_id": reader["id"]}}, "date_format": "DD/MM/YYYY"})

    assert response.status_code == 200, response.text
    mine = api.get(f"{V1}/interactions")
    assert mine.status_code == 200, mine.text
    assert (mine.json()["items"], mine.json()["remembered_filters"]) == ([], {"user_id": reader["id"]})
    everyone = api.get(f"{V1}/interactions", params={"use_preferences": "false"}).json()
    assert [item["subject"] for item in everyone["items"]] == ["Réunion chantier"]
    assert everyone["remembered_filters"] == {}
    projects = api.get(f"{V1}/projects").json()
    assert projects["sort"] == {"field": "id", "direction": "desc", "source": "default"}
    assert admin.get(f"{V1}/me/preferences").json()["date_format"] is None
