"""Interactions through the gateway: contacts and companies checked with contacts, participants
checked with accounts, the agenda, and the reports; with org scoping and read-only rules."""

from __future__ import annotations

from tests.e2e.conftest import create_user

V1 = "/api/v1"


def _company_and_contact(api) -> tuple[str, str]:
    company = api.post(f"{V1}/companies", json={"name": "Pomme Siège Central", "group": "Pomme"})
    contact = api.post(f"{V1}/contacts", json={"first_name": "Jeanne", "last_name": "Dupont"})
    assert company.status_code == 201 and contact.status_code == 201, (company.text, contact.text)
    return company.json()["id"], contact.json()["id"]


def _meeting(api, **fields) -> dict:
    body = {
        "subject": "Réunion chantier",
        "type": "meeting",
        "start_at": "2026-12-01T09:00:00+01:00",
        "end_at": "2026-12-01T10:00:00+01:00",
        **fields,
    }
    response = api.post(f"{V1}/interactions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_invited_member_accepts_and_sees_the_meeting_on_their_agenda(system, org):
    admin = org["admin"]
    company_id, contact_id = _company_and_contact(admin)
    member = system.login(create_user(admin)["email"])
    meeting = _meeting(admin, company_ids=[company_id], contact_ids=[contact_id])
    assert (meeting["company_ids"], meeting["contact_ids"]) == ([company_id], [contact_id])
    off = admin.post(f"{V1}/interactions/{meeting['id']}/participants", json={"user_id": member.user["id"]})
    assert off.status_code == 409 and "multi_user_interactions" in off.json()["detail"]
    assert admin.patch(f"{V1}/settings", json={"multi_user_interactions": True}).status_code == 200
    invited = admin.post(
        f"{V1}/interactions/{meeting['id']}/participants", json={"user_id": member.user["id"]}
    )
    assert invited.status_code == 201, invited.text
    accepted = member.post(f"{V1}/interactions/{meeting['id']}/participants/me/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "confirmed"
    agenda = member.get(f"{V1}/agenda", params={"since": "2026-12-01", "until": "2026-12-07"}).json()["items"]
    assert [item["id"] for item in agenda] == [meeting["id"]]
    refusal = admin.post(f"{V1}/interactions/{meeting['id']}/participants/me/refuse")
    assert refusal.status_code == 404  # the admin was not invited


def test_links_and_users_of_another_org_are_refused(system, org):
    other_org, other_email = system.bootstrap_org()
    stranger = system.login(other_email)
    their_company, _ = _company_and_contact(stranger)
    response = org["admin"].post(
        f"{V1}/interactions",
        json={
            "subject": "x",
            "type": "call",
            "start_at": "2026-12-01T09:00:00Z",
            "company_ids": [their_company],
        },
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "company_ids.0"
    meeting = _meeting(org["admin"])
    assert stranger.get(f"{V1}/interactions/{meeting['id']}").status_code == 404
    org["admin"].patch(f"{V1}/settings", json={"multi_user_interactions": True})
    invite = org["admin"].post(
        f"{V1}/interactions/{meeting['id']}/participants", json={"user_id": stranger.user["id"]}
    )
    assert invite.status_code == 422 and invite.json()["errors"][0]["field"] == "user_id"


def test_bad_input_names_the_field(system, org):
    api = org["admin"]
    cases = {
        "end_at": {
            "subject": "x",
            "type": "call",
            "start_at": "2026-12-01T09:00:00Z",
            "end_at": "2026-12-01T08:00:00Z",
        },
        "type": {"subject": "x", "type": "rendez_vous", "start_at": "2026-12-01T09:00:00Z"},
        "budget.currency": {
            "subject": "x",
            "type": "call",
            "start_at": "2026-12-01T09:00:00Z",
            "budget": {"amount": "10.00", "currency": "EUROS"},
        },
    }
    for field, body in cases.items():
        response = api.post(f"{V1}/interactions", json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]
    assert api.get(f"{V1}/interactions").json()["items"] == []


def test_the_pipeline_and_unclosed_invoices(system, org):
    api = org["admin"]
    company_id, _ = _company_and_contact(api)
    _meeting(
        api,
        type="sales_opportunity",
        company_ids=[company_id],
        budget={"amount": "1500.00", "currency": "EUR"},
    )
    _meeting(api, type="purchase_invoice", subject="Facture fournisseur 42")
    pipeline = api.get(f"{V1}/reports/pipeline").json()
    assert pipeline["companies"] == [
        {
            "company_id": company_id,
            "company": {"id": company_id, "name": "Pomme Siège Central", "group": "Pomme", "deleted": False},
            "interactions": 1,
            "budgets": [{"amount": "1500.00", "currency": "EUR"}],
        }
    ]
    invoices = api.get(f"{V1}/reports/unclosed-invoices").json()
    assert [item["subject"] for item in invoices["purchase"]] == ["Facture fournisseur 42"]


def _eventually(fetch, done, timeout: float = 10.0):
    import time

    deadline = time.time() + timeout
    while True:
        value = fetch()
        if done(value) or time.time() > deadline:
            return value
        time.sleep(0.1)


def test_an_invitation_reaches_the_invitees_inbox_and_the_answer_reaches_the_owner(system, org):
    admin = org["admin"]
    admin.patch(f"{V1}/settings", json={"multi_user_interactions": True})
    member = system.login(create_user(admin)["email"])
    meeting = _meeting(admin, subject="Visite Pomme Entrepôts")
    admin.post(f"{V1}/interactions/{meeting['id']}/participants", json={"user_id": member.user["id"]})
    inbox = _eventually(lambda: member.get(f"{V1}/notifications").json()["items"], lambda items: items)
    [invitation] = inbox
    assert (invitation["kind"], invitation["interaction_id"]) == ("invitation", meeting["id"])
    accept = next(action for action in invitation["actions"] if action["name"] == "accept")
    assert member.request(accept["method"], accept["href"]).status_code == 200
    assert member.get(f"{V1}/notifications/unread-count").json() == {"unread": 1}
    assert member.post(f"{V1}/notifications/read-all").json() == {"marked": 1}
    told = _eventually(
        lambda: admin.get(f"{V1}/notifications").json()["items"],
        lambda items: any(i["kind"] == "accepted" for i in items),
    )
    assert [item["kind"] for item in told] == ["accepted"]
    stranger = system.login(system.bootstrap_org()[1])
    assert stranger.post(f"{V1}/notifications/{invitation['id']}/read").status_code == 404


def test_a_room_is_booked_once_and_a_read_only_user_cannot_book(system, org):
    admin = org["admin"]
    room = admin.post(f"{V1}/resources", json={"name": "Salle Chambord", "kind": "room"})
    assert room.status_code == 201, room.text
    first, second = _meeting(admin, subject="Comité"), _meeting(admin, subject="Formation")
    booked = admin.request("PUT", f"{V1}/interactions/{first['id']}/resources/{room.json()['id']}")
    assert booked.status_code == 200, booked.text
    clash = admin.request("PUT", f"{V1}/interactions/{second['id']}/resources/{room.json()['id']}")
    assert clash.status_code == 409 and first["id"] in clash.text
    reader = system.login(create_user(admin, read_only=True)["email"])
    refused = reader.request("PUT", f"{V1}/interactions/{second['id']}/resources/{room.json()['id']}")
    assert refused.status_code == 403
    planning = admin.get(
        f"{V1}/resources/{room.json()['id']}/planning", params={"since": "2026-12-01", "until": "2026-12-01"}
    )
    assert planning.status_code == 200 and first["id"] in planning.text and second["id"] not in planning.text


def test_timer_note_template_and_document_through_the_gateway(system, org):
    admin = org["admin"]
    company_id, _ = _company_and_contact(admin)
    meeting = _meeting(admin, company_ids=[company_id])
    started = admin.post(f"{V1}/interactions/{meeting['id']}/timer/start")
    assert started.status_code == 201, started.text
    assert admin.post(f"{V1}/interactions/{meeting['id']}/timer/start").status_code == 409
    assert admin.post(f"{V1}/timer/stop").status_code == 201
    assert admin.post(f"{V1}/timer/stop").status_code == 409
    note = admin.post(f"{V1}/interactions/{meeting['id']}/notes", json={"text": "Client satisfait."})
    assert note.status_code == 201 and "Alice Martin" in note.json()["stamp"]
    bad = admin.post(
        f"{V1}/templates", json={"name": "Relance", "subject": "Relance {inconnu}", "type": "call"}
    )
    assert bad.status_code == 422 and "inconnu" in bad.text
    template = admin.post(
        f"{V1}/templates", json={"name": "Relance", "subject": "Relance {year}-{counter:03}", "type": "call"}
    )
    assert template.status_code == 201, template.text
    ran = admin.post(f"{V1}/templates/{template.json()['id']}/run", json={})
    assert ran.status_code == 201 and ran.json()["subject"].endswith("-001")
    upload = admin.post(
        f"{V1}/interactions/{meeting['id']}/documents",
        files={"file": ("devis.pdf", b"%PDF-1.4 devis", "application/pdf")},
        data={"document_type": "quote"},
    )
    assert upload.status_code == 201, upload.text
    content = admin.get(f"{V1}/documents/{upload.json()['id']}/content")
    assert (content.status_code, content.content) == (200, b"%PDF-1.4 devis")
    of_company = admin.get(f"{V1}/documents", params={"company_id": company_id})
    assert [item["id"] for item in of_company.json()["items"]] == [upload.json()["id"]]
    neither = admin.get(f"{V1}/documents")
    assert neither.status_code == 422 and "contact_id" in neither.text


def test_an_archived_contact_is_no_longer_a_link_and_a_restored_one_is_again(system, org):
    admin = org["admin"]
    company_id, contact_id = _company_and_contact(admin)
    _meeting(admin, company_ids=[company_id], contact_ids=[contact_id])  # both now seen live
    assert admin.delete(f"{V1}/contacts/{contact_id}").status_code == 204

    def refused():
        body = {"subject": "Relance", "type": "call", "start_at": "2026-12-02T09:00:00Z"}
        response = admin.post(f"{V1}/interactions", json={**body, "contact_ids": [contact_id]})
        return response.status_code == 422 and response.json()["errors"][0]["field"] == "contact_ids.0"

    assert _eventually(refused, bool)
    assert admin.post(f"{V1}/contacts/{contact_id}/restore").status_code == 200
    _meeting(admin, company_ids=[company_id], contact_ids=[contact_id])


def test_a_note_is_stamped_with_the_authors_name_as_it_is_now(system, org):
    member = system.login(create_user(org["admin"])["email"])
    meeting = _meeting(member)
    first = member.post(f"{V1}/interactions/{meeting['id']}/notes", json={"text": "Devis envoyé."})
    assert first.status_code == 201, first.text
    renamed = member.patch(f"{V1}/me", json={"name": "Camille Petit-Roux"})
    assert renamed.status_code == 200, renamed.text

    def stamped_with_the_new_name():
        note = member.post(f"{V1}/interactions/{meeting['id']}/notes", json={"text": "Relancé."})
        return note.status_code == 201 and note.json()["stamp"].startswith("Camille Petit-Roux, ")

    assert _eventually(stamped_with_the_new_name, bool)
