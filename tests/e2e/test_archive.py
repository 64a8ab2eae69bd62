"""Archive on delete, restore and purge through the gateway: what the web and the field app do."""

from __future__ import annotations

from tests.e2e.conftest import create_user

V1 = "/api/v1"


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_archive_hides_a_company_restore_brings_it_back_with_its_links_purge_is_an_admins(system, org):
    admin = org["admin"]
    member = system.login(create_user(admin)["email"])
    siege = _created(member.post(f"{V1}/companies", json={"name": "Pomme Siège Central", "group": "Pomme"}))
    jeanne = _created(
        member.post(
            f"{V1}/contacts",
            json={
                "first_name": "Jeanne",
                "last_name": "Dupont",
                "employments": [{"company_id": siege["id"]}],
            },
        )
    )
    reunion = _created(
        member.post(
            f"{V1}/interactions",
            json={
                "subject": "Réunion chantier Pomme Siège Central",
                "type": "meeting",
                "start_at": "2026-12-01T09:00:00+01:00",
                "contact_ids": [jeanne["id"]],
                "company_ids": [siege["id"]],
            },
        )
    )

    # A live record is not restored: nothing to bring back.
    assert "not archived" in _problem(member.post(f"{V1}/companies/{siege['id']}/restore"), 409)["detail"]

    # Archived: out of the list and the search, listed with archived=true, links kept.
    assert member.delete(f"{V1}/companies/{siege['id']}").status_code == 204
    assert siege["id"] not in _ids(member.get(f"{V1}/companies"))
    assert _ids(member.get(f"{V1}/companies", params={"q": "Siège"})) == []
    assert _ids(member.get(f"{V1}/companies", params={"archived": "true"})) == [siege["id"]]
    assert member.get(f"{V1}/companies/{siege['id']}").status_code == 404
    assert member.get(f"{V1}/contacts/{jeanne['id']}").json()["employments"][0]["current"] is False
    assert _ids(member.get(f"{V1}/interactions", params={"company_id": siege["id"]})) == [reunion["id"]]

    restored = member.post(f"{V1}/companies/{siege['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert (restored.json()["deleted_at"], restored.json()["version"]) == (None, siege["version"] + 2)
    assert _ids(member.get(f"{V1}/companies", params={"q": "Siège"})) == [siege["id"]]
    staff = member.get(f"{V1}/companies/{siege['id']}").json()["contacts"]
    assert [employee["contact_id"] for employee in staff] == [jeanne["id"]]
    assert member.get(f"{V1}/companies", params={"archived": "true"}).json()["items"] == []

    # Purge: an admin's, and only of an archived record.
    assert "archive it" in _problem(admin.delete(f"{V1}/companies/{siege['id']}/purge"), 409)["detail"]
    assert member.delete(f"{V1}/companies/{siege['id']}").status_code == 204
    before = member.get(f"{V1}/companies", params={"archived": "true"}).json()
    _problem(member.delete(f"{V1}/companies/{siege['id']}/purge"), 403)
    assert member.get(f"{V1}/companies", params={"archived": "true"}).json() == before
    assert admin.delete(f"{V1}/companies/{siege['id']}/purge").status_code == 204
    assert member.get(f"{V1}/companies/{siege['id']}").status_code == 404
    _problem(member.post(f"{V1}/companies/{siege['id']}/restore"), 404)
    assert member.get(f"{V1}/companies", params={"archived": "true"}).json()["items"] == []
    assert member.get(f"{V1}/contacts/{jeanne['id']}").json()["employments"] == []


def test_a_colleagues_interaction_is_archived_by_its_owner_or_an_admin_and_restored_with_its_links(
    system, org
):
    admin = org["admin"]
    member = system.login(create_user(admin)["email"])
    other = system.login(system.bootstrap_org()[1])
    siege = _created(admin.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}))
    projet = _created(admin.post(f"{V1}/projects", json={"name": "Rénovation", "company_ids": [siege["id"]]}))
    reunion = _created(
        admin.post(
            f"{V1}/interactions",
            json={
                "subject": "Réunion chantier",
                "type": "meeting",
                "start_at": "2026-12-01T09:00:00+01:00",
                "company_ids": [siege["id"]],
                "project_id": projet["id"],
            },
        )
    )
    assert admin.post(f"{V1}/interactions/{reunion['id']}/notes", json={"text": "Plans validés"}).ok

    refused = _problem(member.delete(f"{V1}/interactions/{reunion['id']}"), 403)
    assert "owner" in refused["detail"] and "admin" in refused["detail"]
    assert _ids(member.get(f"{V1}/interactions")) == [reunion["id"]]

    assert admin.delete(f"{V1}/interactions/{reunion['id']}").status_code == 204
    assert admin.delete(f"{V1}/projects/{projet['id']}").status_code == 204
    assert _ids(member.get(f"{V1}/interactions")) == []
    assert _ids(member.get(f"{V1}/interactions", params={"archived": "true"})) == [reunion["id"]]
    assert _ids(member.get(f"{V1}/projects", params={"archived": "true"})) == [projet["id"]]
    _problem(other.post(f"{V1}/interactions/{reunion['id']}/restore"), 404)

    back = member.post(f"{V1}/interactions/{reunion['id']}/restore")
    assert back.status_code == 200, back.text
    assert (back.json()["company_ids"], back.json()["project_id"]) == ([siege["id"]], projet["id"])
    assert [
        note["text"] for note in member.get(f"{V1}/interactions/{reunion['id']}/notes").json()["notes"]
    ] == ["Plans validés"]
    project = member.post(f"{V1}/projects/{projet['id']}/restore")
    assert project.status_code == 200, project.text
    assert (project.json()["company_ids"], project.json()["deleted_at"]) == ([siege["id"]], None)
    _problem(member.post(f"{V1}/projects/{projet['id']}/restore"), 409)
