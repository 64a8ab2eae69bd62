"""Mobile sync over HTTP, as WatermelonDB's protocol speaks it: pull, push, conflicts, alerts.

The stock WatermelonDB client drives the same routes in test_sync_phone.py; these
tests look at the wire: which records each pull carries, and what each push does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import create_user

V1 = "/api/v1"
PHONE = {"X-Device-Id": "iphone-alice-1", "X-App-Version": "2.4.0"}


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _pull(api, last_pulled_at=None, headers=PHONE, **params) -> dict:
    query = {"last_pulled_at": "null" if last_pulled_at is None else str(last_pulled_at), **params}
    response = api.get(f"{V1}/sync/pull", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(pull: dict, table: str, kind: str = "created") -> set[str]:
    changes = pull["changes"].get(table, {})
    return {record["id"] if isinstance(record, dict) else record for record in changes.get(kind, [])}


def _eventually(check, timeout: float = 10.0):
    """Events reach sync a moment after the write: ask again until ``check`` answers."""
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.2)


def _visit(api, subject: str, days: float, **fields) -> dict:
    body = {"subject": subject, "type": "meeting", "start_at": _at(days), **fields}
    return _created(api.post(f"{V1}/interactions", json=body))


def test_first_pull_brings_exactly_the_users_scope(system, org):
    alice = org["admin"]
    boulangerie = _created(alice.post(f"{V1}/companies", json={"name": "Boulangerie Dupont Paris"}))
    jeanne = _created(
        alice.post(
            f"{V1}/contacts",
            json={
                "first_name": "Jeanne",
                "last_name": "Dupont",
                "employments": [{"company_id": boulangerie["id"], "function": "Gérante"}],
            },
        )
    )
    soon = _visit(alice, "Visite boulangerie", 3, contact_ids=[jeanne["id"]], company_ids=[boulangerie["id"]])
    bruno = create_user(alice, name="Bruno Petit")
    bruno_api = system.login(bruno["email"])
    brunos = _visit(bruno_api, "Rendez-vous de Bruno", 2)
    # Planned by Bruno for Alice: hers by ownership, not because she touched it on the web.
    owner = {"owner_id": alice.user["id"]}
    planned = _visit(bruno_api, "Inventaire annuel", 20, **owner)
    old = _visit(bruno_api, "Inventaire de l'an dernier", -100, **owner)
    far = _visit(bruno_api, "Salon de l'an prochain", 45, **owner)
    other_org = system.login(system.bootstrap_org()[1])
    stranger = _created(other_org.post(f"{V1}/contacts", json={"first_name": "Paul", "last_name": "Autre"}))

    # Bruno's phone: what he created on the web (his, and the ones he planned for Alice), not
    # Alice's own visit nor her contacts.
    pull = _eventually(lambda: (p := _pull(bruno_api)) and brunos["id"] in _ids(p, "interactions") and p)
    assert soon["id"] not in _ids(pull, "interactions")
    assert jeanne["id"] not in _ids(pull, "contacts")
    assert {"Alice Martin", "Bruno Petit"} <= {u["name"] for u in pull["changes"]["users"]["created"]}
    assert "meeting" in _ids(pull, "interaction_types")

    pull = _eventually(lambda: (p := _pull(alice)) and soon["id"] in _ids(p, "interactions") and p)
    assert {soon["id"], planned["id"]} <= _ids(pull, "interactions")
    assert old["id"] not in _ids(pull, "interactions")
    assert far["id"] not in _ids(pull, "interactions")
    assert brunos["id"] not in _ids(pull, "interactions")
    assert stranger["id"] not in _ids(pull, "contacts")
    assert jeanne["id"] in _ids(pull, "contacts")
    assert boulangerie["id"] in _ids(pull, "companies")
    employment = jeanne["employments"][0]["id"]
    assert employment in _ids(pull, "employments")
    record = next(r for r in pull["changes"]["interactions"]["created"] if r["id"] == soon["id"])
    assert record["subject"] == "Visite boulangerie"
    assert isinstance(record["start_at"], int) and record["contact_ids"] == f'["{jeanne["id"]}"]'
    assert isinstance(pull["timestamp"], int)

    # Nothing changed: the next pull is empty, and its timestamp does not go back.
    again = _pull(alice, pull["timestamp"])
    assert again["changes"] == {}
    assert again["timestamp"] >= pull["timestamp"]


def test_web_edits_arrive_and_records_leaving_the_scope_are_sent_as_deleted(system, org):
    alice = org["admin"]
    bruno = system.login(create_user(alice, name="Bruno Petit")["email"])
    # Bruno plans it for Alice: on her phone because she owns it (she never touched it on the web).
    visit = _visit(bruno, "Livraison Rungis", 1, owner_id=alice.user["id"])
    first = _eventually(lambda: (p := _pull(alice)) and visit["id"] in _ids(p, "interactions") and p)

    changed = bruno.patch(f"{V1}/interactions/{visit['id']}", json={"subject": "Livraison Rungis (quai 4)"})
    assert changed.status_code == 200, changed.text
    update = _eventually(
        lambda: (p := _pull(alice, first["timestamp"])) and _ids(p, "interactions", "updated") and p
    )
    subjects = [r["subject"] for r in update["changes"]["interactions"]["updated"]]
    assert subjects == ["Livraison Rungis (quai 4)"]

    moved = bruno.patch(f"{V1}/interactions/{visit['id']}", json={"start_at": _at(-120)})
    assert moved.status_code == 200, moved.text
    gone = _eventually(
        lambda: (p := _pull(alice, update["timestamp"])) and _ids(p, "interactions", "deleted") and p
    )
    assert _ids(gone, "interactions", "deleted") == {visit["id"]}
    # A phone that missed the last pull (its answer was lost) still learns both steps at once.
    replay = _pull(alice, first["timestamp"])
    assert _ids(replay, "interactions", "deleted") == {visit["id"]}


def test_time_passing_takes_an_old_interaction_off_the_phone(system, org):
    alice = org["admin"]
    bruno = system.login(create_user(alice, name="Bruno Petit")["email"])
    visit = _visit(bruno, "Rendez-vous comptable", -85, owner_id=alice.user["id"])
    first = _eventually(lambda: (p := _pull(alice)) and visit["id"] in _ids(p, "interactions") and p)
    clock = system.settings.sync.clock_offset_file
    try:
        with open(clock, "w") as offset:
            offset.write(str(10 * 86400))  # ten days later: the visit is 95 days old
        later = _pull(alice, first["timestamp"])
    finally:
        with open(clock, "w") as offset:
            offset.write("0")
    assert visit["id"] in _ids(later, "interactions", "deleted")


def test_viewing_a_company_on_the_web_brings_it_to_the_phone(system, org):
    alice = org["admin"]
    bruno = create_user(alice, name="Bruno Petit")
    bruno_api = system.login(bruno["email"])
    cabinet = _created(alice.post(f"{V1}/companies", json={"name": "Cabinet Dupuis"}))
    first = _pull(bruno_api)
    assert cabinet["id"] not in _ids(first, "companies")

    assert bruno_api.get(f"{V1}/companies/{cabinet['id']}").status_code == 200
    later = _eventually(lambda: (p := _pull(bruno_api, first["timestamp"])) and _ids(p, "companies") and p)
    assert _ids(later, "companies") == {cabinet["id"]}


def test_pushed_records_are_applied_by_their_owners_parents_first(system, org):
    alice = org["admin"]
    first = _pull(alice)
    company = {
        "id": "phonecompany0001",
        "name": "Garage Martin",
        "city": "Nantes",
        "latitude": 47.2184,
        "longitude": -1.5536,
    }
    contact = {
        "id": "phonecontact0001",
        "first_name": "Luc",
        "last_name": "Martin",
        "mobile": "06 12 34 56 78",
    }
    employment = {
        "id": "phonejob00000001",
        "contact_id": contact["id"],
        "company_id": company["id"],
        "function": "Gérant",
    }
    visit = {
        "id": "phonevisit000001",
        "subject": "Visite garage",
        "type": "meeting",
        "start_at": int(time.time() * 1000),
        "contact_ids": f'["{contact["id"]}"]',
        "company_ids": f'["{company["id"]}"]',
    }
    note = {"id": "phonenote0000001", "interaction_id": visit["id"], "text": "Client ravi."}
    changes = {
        "notes": {"created": [note], "updated": [], "deleted": []},
        "interactions": {"created": [visit], "updated": [], "deleted": []},
        "employments": {"created": [employment], "updated": [], "deleted": []},
        "contacts": {"created": [contact], "updated": [], "deleted": []},
        "companies": {"created": [company], "updated": [], "deleted": []},
    }
    body = {"changes": changes, "last_pulled_at": first["timestamp"]}
    pushed = alice.post(f"{V1}/sync/push", json=body, headers=PHONE)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"applied": 5, "rejected": {}, "alerts": []}

    garage = alice.get(f"{V1}/companies/{company['id']}").json()
    assert garage["address"]["position"]["source"] == "phone_gps"
    assert [c["contact_id"] for c in garage["contacts"]] == [contact["id"]]
    on_web = alice.get(f"{V1}/interactions/{visit['id']}").json()
    assert on_web["contact_ids"] == [contact["id"]]
    notes = alice.get(f"{V1}/interactions/{visit['id']}/notes").json()
    assert [n["text"] for n in notes["notes"]] == ["Client ravi."]

    # The same push again (its answer was lost): nothing twice.
    again = alice.post(f"{V1}/sync/push", json=body, headers=PHONE)
    assert again.status_code == 200, again.text
    assert again.json()["rejected"] == {}
    assert len(alice.get(f"{V1}/interactions/{visit['id']}/notes").json()["notes"]) == 1


def test_a_push_over_a_record_changed_on_the_web_since_the_pull_is_refused_whole(system, org):
    alice = org["admin"]
    client = _created(alice.post(f"{V1}/companies", json={"name": "Fromagerie Lenoir"}))
    assert alice.get(f"{V1}/companies/{client['id']}").status_code == 200  # viewed: on the phone
    pull = _eventually(lambda: (p := _pull(alice)) and client["id"] in _ids(p, "companies") and p)
    on_phone = next(r for r in pull["changes"]["companies"]["created"] if r["id"] == client["id"])
    assert (
        alice.patch(f"{V1}/companies/{client['id']}", json={"name": "Fromagerie Lenoir & Fils"}).status_code
        == 200
    )
    _eventually(lambda: _ids(_pull(alice, pull["timestamp"]), "companies", "updated"))

    mine = {**on_phone, "notes": "Fermé le lundi", "_status": "updated", "_changed": "notes"}
    extra = {"id": "phonecontact0777", "first_name": "Nina"}
    changes = {
        "companies": {"created": [], "updated": [mine], "deleted": []},
        "contacts": {"created": [extra], "updated": [], "deleted": []},
    }
    refused = alice.post(
        f"{V1}/sync/push", json={"changes": changes, "last_pulled_at": pull["timestamp"]}, headers=PHONE
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("sync-conflict")
    assert alice.get(f"{V1}/contacts/{extra['id']}").status_code == 404  # nothing applied

    # Pull, merge (WatermelonDB keeps the phone's changed column), push again: both sides agree.
    fresh = _pull(alice, pull["timestamp"])
    server = next(r for r in fresh["changes"]["companies"]["updated"] if r["id"] == client["id"])
    merged = {**server, "notes": "Fermé le lundi", "_status": "updated", "_changed": "notes"}
    changes["companies"]["updated"] = [merged]
    accepted = alice.post(
        f"{V1}/sync/push", json={"changes": changes, "last_pulled_at": fresh["timestamp"]}, headers=PHONE
    )
    assert accepted.status_code == 200, accepted.text
    company = alice.get(f"{V1}/companies/{client['id']}").json()
    assert (company["name"], company["notes"]) == ("Fromagerie Lenoir & Fils", "Fermé le lundi")


def test_a_read_only_users_changes_are_refused_reported_and_undone_at_the_next_pull(system, org):
    alice = org["admin"]
    claire_user = create_user(alice, name="Claire Morel", read_only=True)
    claire = system.login(claire_user["email"])
    client = _created(alice.post(f"{V1}/companies", json={"name": "Pomme Siège Central"}))
    assert claire.get(f"{V1}/companies/{client['id']}").status_code == 200
    phone = {"X-Device-Id": "android-claire"}
    pull = _eventually(
        lambda: (p := _pull(claire, headers=phone)) and client["id"] in _ids(p, "companies") and p
    )
    held = next(r for r in pull["changes"]["companies"]["created"] if r["id"] == client["id"])

    changes = {
        "companies": {
            "created": [],
            "updated": [{**held, "name": "Pomme (renommée)", "_changed": "name"}],
            "deleted": [],
        },
        "contacts": {
            "created": [{"id": "claireoffline001", "first_name": "Hugo"}],
            "updated": [],
            "deleted": [],
        },
    }
    pushed = claire.post(
        f"{V1}/sync/push", json={"changes": changes, "last_pulled_at": pull["timestamp"]}, headers=phone
    )
    assert pushed.status_code == 200, pushed.text
    answer = pushed.json()
    assert answer["applied"] == 0
    assert answer["rejected"] == {"companies": [client["id"]], "contacts": ["claireoffline001"]}
    assert {a["reason"] for a in answer["alerts"]} == {"read_only"}
    assert alice.get(f"{V1}/companies/{client['id']}").json()["name"] == "Pomme Siège Central"

    alerts = claire.get(f"{V1}/sync/alerts").json()["alerts"]
    assert {(a["table"], a["record_id"]) for a in alerts} == {
        ("companies", client["id"]),
        ("contacts", "claireoffline001"),
    }
    assert "ask your admin" in alerts[0]["message"]
    read = claire.post(f"{V1}/sync/alerts/{alerts[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None

    after = _pull(claire, pull["timestamp"], headers=phone)
    assert [r["name"] for r in after["changes"]["companies"]["updated"]] == ["Pomme Siège Central"]
    assert _ids(after, "contacts", "deleted") == {"claireoffline001"}

    devices = alice.get(f"{V1}/sync/devices").json()["devices"]
    assert devices[0]["device_id"] == "android-claire" and "refused" in devices[0]["last_error"]
    assert claire.get(f"{V1}/sync/devices").status_code == 403


def test_sync_requests_without_a_device_or_with_bad_parameters_are_refused_clearly(org):
    alice = org["admin"]
    missing = alice.get(f"{V1}/sync/pull")
    assert missing.status_code == 422 and "X-Device-Id" in missing.json()["detail"]
    bad = alice.get(f"{V1}/sync/pull", params={"last_pulled_at": "hier"}, headers=PHONE)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "last_pulled_at"
    unknown = alice.post(f"{V1}/sync/push", json={"changes": {"invoices": {"created": []}}}, headers=PHONE)
    assert unknown.status_code == 422, unknown.text


def test_a_phone_editing_what_it_just_created_is_not_in_conflict_with_itself(system, org):
    alice = org["admin"]
    before = _pull(alice)
    luc = {"id": "phonecontact0042", "first_name": "Luc", "last_name": "Martin"}
    created = alice.post(
        f"{V1}/sync/push",
        json={"changes": {"contacts": {"created": [luc]}}, "last_pulled_at": before["timestamp"]},
        headers=PHONE,
    )
    assert created.status_code == 200, created.text
    # The create's own event reaches sync after the phone's pull: the server's copy is newer
    # than last_pulled_at, but it is the phone's own change.
    _eventually(lambda: _ids(_pull(alice, before["timestamp"]), "contacts"))
    edit = {**luc, "note": "Préfère être appelé le matin", "_changed": "note"}
    edited = alice.post(
        f"{V1}/sync/push",
        json={"changes": {"contacts": {"updated": [edit]}}, "last_pulled_at": before["timestamp"]},
        headers=PHONE,
    )
    assert edited.status_code == 200, edited.text
    assert alice.get(f"{V1}/contacts/{luc['id']}").json()["note"] == "Préfère être appelé le matin"

    # Another device of the same user did not make that change: for it, it is a conflict.
    other = alice.post(
        f"{V1}/sync/push",
        json={
            "changes": {"contacts": {"updated": [{**edit, "note": "Le soir"}]}},
            "last_pulled_at": before["timestamp"],
        },
        headers={"X-Device-Id": "ipad-alice"},
    )
    assert other.status_code == 409, other.text


def test_check_ins_made_on_the_phone_are_applied_and_sync_like_interactions(system, org):
    alice = org["admin"]
    position = {"latitude": 48.8724, "longitude": 2.3325, "source": "typed"}
    boulangerie = _created(
        alice.post(
            f"{V1}/companies", json={"name": "Boulangerie Dupont Paris", "address": {"position": position}}
        )
    )
    radius = alice.request(
        "PUT",
        f"{V1}/interaction-types/meeting",
        json={
            "name": "Rendez-vous",
            "statuses": [{"key": "planned", "name": "Prévu"}],
            "checkin_radius_m": 200,
        },
    )
    assert radius.status_code == 200, radius.text
    visit = _visit(alice, "Livraison pain", 0, company_ids=[boulangerie["id"]])
    before = _pull(alice)
    near = {
        "id": "phonecheckin0001",
        "interaction_id": visit["id"],
        "latitude": 48.8719,
        "longitude": 2.3316,
        "accuracy_m": 12,
    }
    far = {
        "id": "phonecheckin0002",
        "interaction_id": visit["id"],
        "latitude": 48.8606,
        "longitude": 2.3376,
        "accuracy_m": 12,
    }

    pushed = alice.post(
        f"{V1}/sync/push",
        json={"changes": {"check_ins": {"created": [far, near]}}, "last_pulled_at": before["timestamp"]},
        headers=PHONE,
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["rejected"] == {"check_ins": [far["id"]]}
    assert "km from Boulangerie Dupont Paris, allowed 200 m" in pushed.json()["alerts"][0]["message"]

    out = {**near, "checked_out_at": int(time.time() * 1000), "_changed": "checked_out_at"}
    closed = alice.post(
        f"{V1}/sync/push",
        json={"changes": {"check_ins": {"updated": [out]}}, "last_pulled_at": before["timestamp"]},
        headers=PHONE,
    )
    assert closed.status_code == 200 and closed.json()["rejected"] == {}, closed.text
    visits = alice.get(f"{V1}/interactions/{visit['id']}/check-ins").json()["check_ins"]
    assert [(v["id"], v["distance_m"], v["checked_out_at"] is not None) for v in visits] == [
        (near["id"], 86, True)
    ]

    tablet = {"X-Device-Id": "tablette-alice"}
    pulled = _eventually(
        lambda: (
            (p := _pull(alice, headers=tablet))
            and any(r.get("checked_out_at") for r in p["changes"].get("check_ins", {}).get("created", []))
            and p
        )
    )
    record = pulled["changes"]["check_ins"]["created"][0]
    assert (record["id"], record["place_name"], record["distance_m"]) == (
        near["id"],
        "Boulangerie Dupont Paris",
        86,
    )


def test_an_archived_company_leaves_the_phone_comes_back_when_restored_and_a_purge_is_final(system, org):
    alice = org["admin"]
    cabinet = _created(alice.post(f"{V1}/companies", json={"name": "Cabinet Dupuis"}))
    first = _eventually(lambda: (p := _pull(alice)) and cabinet["id"] in _ids(p, "companies") and p)

    assert alice.delete(f"{V1}/companies/{cabinet['id']}").status_code == 204
    archived = _eventually(
        lambda: (p := _pull(alice, first["timestamp"])) and _ids(p, "companies", "deleted") and p
    )
    assert _ids(archived, "companies", "deleted") == {cabinet["id"]}

    restored = alice.post(f"{V1}/companies/{cabinet['id']}/restore")
    assert restored.status_code == 200, restored.text
    back = _eventually(lambda: (p := _pull(alice, archived["timestamp"])) and _ids(p, "companies") and p)
    assert _ids(back, "companies") == {cabinet["id"]}

    assert alice.delete(f"{V1}/companies/{cabinet['id']}").status_code == 204
    assert alice.delete(f"{V1}/companies/{cabinet['id']}/purge").status_code == 204
    gone = _eventually(
        lambda: (p := _pull(alice, back["timestamp"])) and _ids(p, "companies", "deleted") and p
    )
    assert _ids(gone, "companies", "deleted") == {cabinet["id"]}
    assert _pull(alice)["changes"].get("companies", {}).get("created", []) == []
