"""Mobile sync with a real client: a stock WatermelonDB (tests/js, LokiJS in Node.js) runs its own
synchronize() against the running system over HTTP. Each scenario asserts on the phone's database
and on the server's HTTP API (docs/sync.md)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import create_user
from tests.e2e.phone import Phone, unavailable_reason

V1 = "/api/v1"
DAY = timedelta(days=1)


@pytest.fixture
def phones(system):
    """Makes phones (one Node.js WatermelonDB each) for a user, closed after the test."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    made: list[Phone] = []

    def phone_for(api) -> Phone:
        phone = Phone()
        made.append(phone)
        phone.configure(system.base_url, api.token, f"phone-{uuid.uuid4().hex[:12]}")
        return phone

    yield phone_for
    for phone in made:
        phone.close()


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _ms(moment: datetime | str) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return int(moment.timestamp() * 1000)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _company(api, name: str = "Pomme Siège Central", **fields) -> dict:
    return _created(api.post(f"{V1}/companies", json={"name": name, **fields}))


def _contact(api, first_name: str, last_name: str, **fields) -> dict:
    return _created(
        api.post(f"{V1}/contacts", json={"first_name": first_name, "last_name": last_name, **fields})
    )


def _interaction(api, owner_id: str, start: datetime, **fields) -> dict:
    body = {
        "subject": "Réunion chantier",
        "type": "meeting",
        "start_at": _iso(start),
        "end_at": _iso(start + timedelta(hours=1)),
        "owner_id": owner_id,
        **fields,
    }
    return _created(api.post(f"{V1}/interactions", json=body))


def _field_user(system, admin, **fields):
    """A colleague who works in the field (not the admin), logged in."""
    return system.login(create_user(admin, name="Bruno Petit", **fields)["email"])


def _in_scope_contact(admin, user, first_name: str = "Jeanne", last_name: str = "Dupont") -> dict:
    """A contact on the user's phone: linked to one of the user's meetings of this week."""
    contact = _contact(admin, first_name, last_name)
    _interaction(admin, user.user["id"], _now() - 2 * DAY, contact_ids=[contact["id"]])
    return contact


def _has(table: str, record_id: str, **columns):
    """A sync_until condition: the record is on the phone with these column values."""

    def done(tables: dict) -> bool:
        raw = tables[table].get(record_id)
        return raw is not None and all(raw.get(k) == v for k, v in columns.items())

    return done


def _until_sync_holds(api, table: str, record_id: str, **columns) -> None:
    """Waits until the sync service has learnt of a web change (it learns by events): a first pull
    from another device of the same user shows the record with these column values."""
    deadline = time.monotonic() + 30
    while True:
        response = api.get(
            f"{V1}/sync/pull", params={"last_pulled_at": "null"}, headers={"X-Device-Id": "probe-web"}
        )
        assert response.status_code == 200, response.text
        records = {raw["id"]: raw for raw in response.json()["changes"].get(table, {}).get("created", [])}
        raw = records.get(record_id)
        if raw is not None and all(raw.get(k) == v for k, v in columns.items()):
            return
        assert time.monotonic() < deadline, f"sync never held {table} {record_id} with {columns}: {raw}"
        time.sleep(0.2)


def _rejected(answer: dict) -> dict[str, list[str]]:
    """The ids a push answer lists as rejected, per table."""
    return {table: sorted(ids) for table, ids in answer["push"]["answer"]["rejected"].items() if ids}


def _all(*conditions):
    return lambda tables: all(condition(tables) for condition in conditions)


def test_first_sync_brings_exactly_the_users_scope_and_nothing_outside_it(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    site = _company(admin, "Pomme Siège Central", group="Pomme", address={"city": "Paris"})
    jeanne = _contact(
        admin,
        "Jeanne",
        "Dupont",
        email="jeanne.dupont@pomme.fr",
        employments=[{"company_id": site["id"], "function": "Acheteuse"}],
    )
    start = _now() - 10 * DAY
    own = _interaction(
        admin,
        bruno.user["id"],
        start,
        subject="Visite Pomme Siège Central",
        contact_ids=[jeanne["id"]],
        company_ids=[site["id"]],
    )
    paul = _contact(admin, "Paul", "Lefèvre")
    others = _interaction(
        admin, admin.user["id"], _now() - DAY, subject="Réunion de l'admin", contact_ids=[paul["id"]]
    )
    ancien = _contact(admin, "Ancien", "Client")
    old = _interaction(
        admin,
        bruno.user["id"],
        _now() - 100 * DAY,
        subject="Visite d'il y a 100 jours",
        contact_ids=[ancien["id"]],
    )
    _, stranger_email = system.bootstrap_org()
    stranger = _contact(system.login(stranger_email), "Étienne", "Étranger")

    phone = phones(bruno)
    phone.sync_until(
        _all(
            _has("interactions", own["id"]),
            _has("contacts", jeanne["id"]),
            _has("companies", site["id"]),
            lambda t: t["employments"] and bruno.user["id"] in t["users"],
        )
    )
    phone.synced()  # anything outside the scope would have arrived by now too
    tables = phone.tables()

    assert set(tables["interactions"]) == {own["id"]}
    assert set(tables["contacts"]) == {jeanne["id"]}
    assert set(tables["companies"]) == {site["id"]}
    for absent in (others["id"], old["id"], paul["id"], ancien["id"], stranger["id"]):
        assert not any(absent in records for records in tables.values())
    mine = tables["interactions"][own["id"]]
    assert (mine["subject"], mine["type"], mine["owner_id"]) == (
        "Visite Pomme Siège Central",
        "meeting",
        bruno.user["id"],
    )
    assert mine["start_at"] == _ms(start) and mine["all_day"] is False
    assert json.loads(mine["contact_ids"]) == [jeanne["id"]]
    assert json.loads(mine["company_ids"]) == [site["id"]]
    web = _ok(bruno.get(f"{V1}/contacts/{jeanne['id']}"))
    on_phone = tables["contacts"][jeanne["id"]]
    assert (on_phone["first_name"], on_phone["last_name"], on_phone["email"]) == (
        web["first_name"],
        web["last_name"],
        web["email"],
    )
    assert tables["companies"][site["id"]]["group_name"] == "Pomme"
    [employment] = tables["employments"].values()
    assert (employment["contact_id"], employment["company_id"], employment["function"]) == (
        jeanne["id"],
        site["id"],
        "Acheteuse",
    )
    assert {bruno.user["id"], admin.user["id"]} <= set(tables["users"])
    assert "meeting" in tables["interaction_types"]
    statuses = {raw["_status"] for records in tables.values() for raw in records.values()}
    assert statuses == {"synced"}


def test_a_contact_and_an_interaction_created_offline_reach_the_web_and_web_edits_reach_the_phone(
    system, org, phones
):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    phone = phones(bruno)
    phone.synced()
    contact_id, interaction_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = _now() + DAY
    phone.create(
        "contacts",
        {"id": contact_id, "first_name": "Lucie", "last_name": "Moreau", "email": "lucie.moreau@pomme.fr"},
    )
    phone.create(
        "interactions",
        {
            "id": interaction_id,
            "subject": "Visite chantier Moreau",
            "type": "meeting",
            "start_at": _ms(start),
            "end_at": _ms(start + timedelta(hours=1)),
            "all_day": False,
            "owner_id": bruno.user["id"],
            "contact_ids": json.dumps([contact_id]),
            "company_ids": "[]",
        },
    )
    pending = phone.tables()
    assert pending["contacts"][contact_id]["_status"] == "created"  # one tick

    answer = phone.synced()

    assert _rejected(answer) == {}
    assert answer["push"]["answer"]["applied"] == 2
    tables = phone.tables()
    assert tables["contacts"][contact_id]["_status"] == "synced"  # two ticks
    assert tables["interactions"][interaction_id]["_status"] == "synced"
    contact = _ok(bruno.get(f"{V1}/contacts/{contact_id}"))
    assert (contact["first_name"], contact["last_name"], contact["email"]) == (
        "Lucie",
        "Moreau",
        "lucie.moreau@pomme.fr",
    )
    interaction = _ok(bruno.get(f"{V1}/interactions/{interaction_id}"))
    assert interaction["subject"] == "Visite chantier Moreau"
    assert interaction["contact_ids"] == [contact_id]
    assert _ms(interaction["start_at"]) == _ms(start)

    _ok(bruno.patch(f"{V1}/contacts/{contact_id}", json={"note": "Rappeler lundi"}))
    _ok(
        admin.patch(
            f"{V1}/interactions/{interaction_id}", json={"subject": "Visite chantier Moreau (reportée)"}
        )
    )
    tables = phone.sync_until(
        _all(
            _has("contacts", contact_id, note="Rappeler lundi"),
            _has("interactions", interaction_id, subject="Visite chantier Moreau (reportée)"),
        )
    )
    assert tables["contacts"][contact_id]["note"] == "Rappeler lundi"
    assert tables["interactions"][interaction_id]["subject"] == "Visite chantier Moreau (reportée)"
    assert tables["contacts"][contact_id]["_status"] == "synced"


def test_the_same_contact_edited_on_the_phone_and_on_the_web_converges_to_one_value(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    phone = phones(bruno)
    phone.sync_until(_has("contacts", jeanne["id"]))
    phone.update("contacts", jeanne["id"], {"note": "Portail bleu (téléphone)"})

    paused = phone.sync_to_push()
    assert paused.get("paused") is True, paused
    _ok(admin.patch(f"{V1}/contacts/{jeanne['id']}", json={"note": "Portail vert (web)"}))
    _until_sync_holds(bruno, "contacts", jeanne["id"], note="Portail vert (web)")
    refused = phone.resume()

    assert refused["ok"] is False and refused["status"] == 409, refused
    assert refused["body"]["type"].endswith("sync-conflict")
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))["note"] == "Portail vert (web)"  # nothing applied
    assert phone.tables()["contacts"][jeanne["id"]]["_status"] == "updated"  # still pending

    # The next sync pulls the web's edit; WatermelonDB keeps the column the phone changed over the
    # pulled one and pushes it again, now over what it has seen: the phone's edit wins, everywhere.
    again = phone.synced()

    assert again["push"]["answer"]["applied"] == 1 and _rejected(again) == {}
    on_phone = phone.tables()["contacts"][jeanne["id"]]
    web = _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))
    assert on_phone["note"] == web["note"] == "Portail bleu (téléphone)"
    assert on_phone["_status"] == "synced"
    tables = phone.sync_until(_has("contacts", jeanne["id"], version=web["version"]))
    assert tables["contacts"][jeanne["id"]]["note"] == "Portail bleu (téléphone)"


def test_a_read_only_users_edit_is_rejected_reported_as_an_alert_and_reverted_at_the_next_sync(
    system, org, phones
):
    admin = org["admin"]
    reader = _field_user(system, admin, read_only=True)
    jeanne = _in_scope_contact(admin, reader)
    phone = phones(reader)
    phone.sync_until(_has("contacts", jeanne["id"]))
    phone.update("contacts", jeanne["id"], {"note": "Modifié hors ligne"})
    offline_id = str(uuid.uuid4())
    phone.create("contacts", {"id": offline_id, "first_name": "Marc", "last_name": "Hors-Ligne"})

    answer = phone.synced()

    assert _rejected(answer) == {"contacts": sorted([jeanne["id"], offline_id])}
    assert answer["push"]["answer"]["applied"] == 0
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}")).get("note") is None
    assert admin.get(f"{V1}/contacts/{offline_id}").status_code == 404
    alerts = _ok(reader.get(f"{V1}/sync/alerts"))["alerts"]
    assert {(a["record_id"], a["operation"], a["reason"]) for a in alerts} == {
        (jeanne["id"], "updated", "read_only"),
        (offline_id, "created", "read_only"),
    }
    assert {a["device_id"] for a in alerts} == {phone.device_id}
    tables = phone.sync_until(
        _all(_has("contacts", jeanne["id"], note=None), lambda t: offline_id not in t["contacts"])
    )
    assert tables["contacts"][jeanne["id"]]["note"] is None
    assert tables["contacts"][jeanne["id"]]["_status"] == "synced"
    assert offline_id not in tables["contacts"]


def test_viewing_a_company_on_the_web_brings_it_to_the_phone_at_the_next_sync(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    bakery = _company(admin, "Boulangerie Dupont Paris", address={"city": "Paris"})
    phone = phones(bruno)
    phone.synced()
    assert bakery["id"] not in phone.tables()["companies"]

    _ok(bruno.get(f"{V1}/companies/{bakery['id']}"))
    tables = phone.sync_until(_has("companies", bakery["id"]))

    assert tables["companies"][bakery["id"]]["name"] == "Boulangerie Dupont Paris"
    assert tables["companies"][bakery["id"]]["city"] == "Paris"


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_push_cut_midway_and_retried_loses_nothing_and_duplicates_nothing(system, org, phones, when):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    phone = phones(bruno)
    phone.sync_until(_has("contacts", jeanne["id"]))
    contact_id, interaction_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = _now() + 2 * DAY
    phone.create("contacts", {"id": contact_id, "first_name": "Chloé", "last_name": "Garnier"})
    phone.create(
        "interactions",
        {
            "id": interaction_id,
            "subject": "Livraison Garnier",
            "type": "meeting",
            "start_at": _ms(start),
            "all_day": False,
            "owner_id": bruno.user["id"],
            "contact_ids": json.dumps([contact_id]),
            "company_ids": "[]",
        },
    )
    phone.update("contacts", jeanne["id"], {"note": "Code portail 1234"})

    phone.fail_next("push", when)
    cut = phone.sync()
    assert cut["ok"] is False and "connection" in cut["message"], cut
    assert {raw["_status"] for raw in phone.tables()["contacts"].values()} >= {"created", "updated"}
    applied_before_the_cut = admin.get(f"{V1}/contacts/{contact_id}").status_code == 200
    assert applied_before_the_cut is (when == "after")
    tables = phone.sync_until(
        _all(
            _has("contacts", contact_id, _status="synced"),
            _has("interactions", interaction_id, _status="synced"),
            _has("contacts", jeanne["id"], _status="synced"),
        )
    )

    assert tables["contacts"][jeanne["id"]]["note"] == "Code portail 1234"
    assert tables["contacts"][jeanne["id"]]["_status"] == "synced"
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))["note"] == "Code portail 1234"
    garniers = _ok(admin.get(f"{V1}/contacts", params={"q": "Garnier"}))["items"]
    assert [c["id"] for c in garniers] == [contact_id]
    linked = _ok(admin.get(f"{V1}/interactions", params={"contact_id": contact_id}))["items"]
    assert [i["id"] for i in linked] == [interaction_id]
    assert [raw["id"] for raw in tables["contacts"].values() if raw["last_name"] == "Garnier"] == [contact_id]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_pull_cut_midway_and_retried_loses_nothing_and_duplicates_nothing(system, org, phones, when):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    phone = phones(bruno)
    phone.sync_until(_has("contacts", jeanne["id"]))
    _ok(admin.patch(f"{V1}/contacts/{jeanne['id']}", json={"note": "Nouveau numéro"}))
    added = _in_scope_contact(admin, bruno, "Hugo", "Bernard")
    _until_sync_holds(bruno, "contacts", jeanne["id"], note="Nouveau numéro")
    _until_sync_holds(bruno, "contacts", added["id"])
    offline_id = str(uuid.uuid4())
    phone.create("contacts", {"id": offline_id, "first_name": "Inès", "last_name": "Roux"})

    phone.fail_next("pull", when)
    cut = phone.sync()
    assert cut["ok"] is False and "connection" in cut["message"], cut
    assert phone.tables()["contacts"][jeanne["id"]].get("note") is None  # nothing applied
    tables = phone.sync_until(
        _all(
            _has("contacts", jeanne["id"], note="Nouveau numéro"),
            _has("contacts", added["id"]),
            _has("contacts", offline_id, _status="synced"),
        )
    )

    assert tables["contacts"][jeanne["id"]]["note"] == "Nouveau numéro"
    assert added["id"] in tables["contacts"]
    assert tables["contacts"][offline_id]["_status"] == "synced"
    assert _ok(admin.get(f"{V1}/contacts/{offline_id}"))["last_name"] == "Roux"
    assert [c["id"] for c in _ok(admin.get(f"{V1}/contacts", params={"q": "Roux"}))["items"]] == [offline_id]
    names = sorted((raw["first_name"], raw["last_name"]) for raw in tables["contacts"].values())
    assert names == sorted([("Jeanne", "Dupont"), ("Hugo", "Bernard"), ("Inès", "Roux")])


def test_time_passing_takes_an_old_interaction_and_its_contact_off_the_phone(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    comptable = _contact(admin, "Claire", "Comptable")
    old = _now() - 85 * DAY
    visit = _interaction(
        admin, bruno.user["id"], old, subject="Rendez-vous comptable", contact_ids=[comptable["id"]]
    )
    phone = phones(bruno)
    phone.sync_until(_all(_has("interactions", visit["id"]), _has("contacts", comptable["id"])))
    clock = Path(system.settings.sync.clock_offset_file)
    try:
        clock.write_text(str(10 * 86400))  # ten days later: the visit is 95 days old
        tables = phone.sync_until(lambda t: visit["id"] not in t["interactions"])
    finally:
        clock.write_text("0")

    assert visit["id"] not in tables["interactions"]
    assert comptable["id"] not in tables["contacts"]
    assert _ok(bruno.get(f"{V1}/interactions/{visit['id']}"))["subject"] == "Rendez-vous comptable"


def test_a_company_contact_employment_and_note_made_offline_reach_the_web_in_one_push(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    visit = _interaction(admin, bruno.user["id"], _now() - DAY, subject="Tournée boulangeries")
    phone = phones(bruno)
    phone.sync_until(_has("interactions", visit["id"]))
    company_id, contact_id, employment_id, note_id = (str(uuid.uuid4()) for _ in range(4))
    # Made children first on purpose: the server applies parents first whatever the order.
    phone.create("notes", {"id": note_id, "interaction_id": visit["id"], "text": "Devis envoyé à la gérante"})
    phone.create(
        "employments",
        {"id": employment_id, "contact_id": contact_id, "company_id": company_id, "function": "Gérante"},
    )
    phone.create("contacts", {"id": contact_id, "first_name": "Sophie", "last_name": "Boulanger"})
    phone.create(
        "companies",
        {
            "id": company_id,
            "name": "Boulangerie Dupont Paris",
            "city": "Paris",
            "latitude": 48.8724,
            "longitude": 2.3325,
            "tags": json.dumps(["boulangerie"]),
        },
    )

    answer = phone.synced()

    assert answer["push"]["answer"]["applied"] == 4 and _rejected(answer) == {}
    company = _ok(admin.get(f"{V1}/companies/{company_id}"))
    assert (company["name"], company["address"]["city"], company["tags"]) == (
        "Boulangerie Dupont Paris",
        "Paris",
        ["boulangerie"],
    )
    position = company["address"]["position"]
    assert (position["latitude"], position["longitude"], position["source"]) == (48.8724, 2.3325, "phone_gps")
    contact = _ok(admin.get(f"{V1}/contacts/{contact_id}"))
    assert [(e["id"], e["company_id"], e["function"]) for e in contact["employments"]] == [
        (employment_id, company_id, "Gérante")
    ]
    [note] = _ok(admin.get(f"{V1}/interactions/{visit['id']}/notes"))["notes"]
    assert (note["id"], note["text"], note["author_id"]) == (
        note_id,
        "Devis envoyé à la gérante",
        bruno.user["id"],
    )
    tables = phone.sync_until(_has("notes", note_id, author_id=bruno.user["id"], stamp=note["stamp"]))
    assert {raw["_status"] for records in tables.values() for raw in records.values()} == {"synced"}
    assert tables["employments"][employment_id]["contact_id"] == contact_id


def test_a_contact_deleted_on_the_phone_is_archived_on_the_server_and_leaves_the_phone(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    phone = phones(bruno)
    phone.sync_until(_has("contacts", jeanne["id"]))
    phone.delete("contacts", jeanne["id"])
    assert phone.tables()["contacts"][jeanne["id"]]["_status"] == "deleted"

    answer = phone.synced()

    assert answer["push"]["answer"]["applied"] == 1 and _rejected(answer) == {}
    assert jeanne["id"] not in phone.tables()["contacts"]
    assert admin.get(f"{V1}/contacts/{jeanne['id']}").status_code == 404
    assert [c["id"] for c in _ok(admin.get(f"{V1}/contacts", params={"q": "Dupont"}))["items"]] == []
    assert jeanne["id"] not in phone.sync_until(lambda t: True)["contacts"]


def test_a_contact_made_and_deleted_offline_before_any_sync_leaves_no_trace_and_no_alert(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    phone = phones(bruno)
    phone.synced()
    mistake = str(uuid.uuid4())
    phone.create("contacts", {"id": mistake, "first_name": "Erreur", "last_name": "De Saisie"})
    phone.delete("contacts", mistake)

    answer = phone.synced()

    assert _rejected(answer) == {}
    assert mistake not in phone.tables()["contacts"]
    assert admin.get(f"{V1}/contacts/{mistake}").status_code == 404
    assert _ok(bruno.get(f"{V1}/sync/alerts"))["alerts"] == []


def test_an_app_upgrade_that_adds_a_table_and_a_column_fills_them_at_the_next_sync(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _contact(admin, "Jeanne", "Dupont", birthday="1980-05-17")
    visit = _interaction(admin, bruno.user["id"], _now() - DAY, contact_ids=[jeanne["id"]])
    link = _created(
        admin.post(
            f"{V1}/interactions/{visit['id']}/document-links",
            json={
                "name": "Plan du magasin",
                "document_type": "plan",
                "url": "https://docs.pomme.fr/plan.pdf",
            },
        )
    )
    phone = phones(bruno)
    phone.install(without_tables=["documents"], without_columns={"contacts": ["birthday"]})
    _until_sync_holds(bruno, "documents", link["id"])
    first = phone.synced()
    assert first["pull"]["migration"] is None
    assert jeanne["id"] in phone.tables()["contacts"]

    phone.upgrade()
    answer = phone.synced()

    assert answer["pull"]["schema_version"] == 2
    assert answer["pull"]["migration"] == {
        "from": 1,
        "tables": ["documents"],
        "columns": [{"table": "contacts", "columns": ["birthday"]}],
    }
    tables = phone.tables()
    assert tables["contacts"][jeanne["id"]]["birthday"] == "1980-05-17"
    document = tables["documents"][link["id"]]
    assert (document["name"], document["kind"], document["url"], document["interaction_id"]) == (
        "Plan du magasin",
        "link",
        "https://docs.pomme.fr/plan.pdf",
        visit["id"],
    )
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))["birthday"] == "1980-05-17"


def test_two_phones_of_one_user_converge_through_the_server(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    pocket, tablet = phones(bruno), phones(bruno)
    for device in (pocket, tablet):
        device.sync_until(_has("contacts", jeanne["id"]))
    made_on_pocket = str(uuid.uuid4())
    pocket.create("contacts", {"id": made_on_pocket, "first_name": "Karim", "last_name": "Benali"})
    pocket.update("contacts", jeanne["id"], {"mobile": "+33 6 12 34 56 78"})
    tablet.update("contacts", jeanne["id"], {"note": "Préfère le matin"})

    pocket.synced()
    _until_sync_holds(bruno, "contacts", jeanne["id"], mobile="+33 6 12 34 56 78")
    tablet.synced()  # pulls the pocket's mobile first, then pushes its own note over it
    # The server learns the note by an event: on a loaded machine the pocket could pull first.
    _until_sync_holds(bruno, "contacts", jeanne["id"], note="Préfère le matin")
    pocket.synced()

    web = _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))
    assert (web["note"], web["mobile"]) == ("Préfère le matin", "+33 6 12 34 56 78")
    for device in (pocket, tablet):
        tables = device.tables()
        mine = tables["contacts"][jeanne["id"]]
        assert (mine["note"], mine["mobile"], mine["_status"]) == (web["note"], web["mobile"], "synced")
        assert tables["contacts"][made_on_pocket]["last_name"] == "Benali"


def test_a_contact_created_then_edited_on_the_phone_across_syncs_keeps_every_edit(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    phone = phones(bruno)
    phone.synced()
    lucie = str(uuid.uuid4())
    phone.create("contacts", {"id": lucie, "first_name": "Lucie", "last_name": "Moreau"})
    phone.update("contacts", lucie, {"email": "lucie@moreau.fr"})  # before it ever left the phone
    phone.synced()
    phone.update("contacts", lucie, {"note": "Rappeler après 17 h"})  # its version is not known yet
    phone.sync_until(_has("contacts", lucie, _status="synced"))
    phone.update("contacts", lucie, {"city": "Lyon"})

    phone.sync_until(_has("contacts", lucie, _status="synced"))

    web = _ok(admin.get(f"{V1}/contacts/{lucie}"))
    assert (web["email"], web["note"], web["address"]["city"]) == (
        "lucie@moreau.fr",
        "Rappeler après 17 h",
        "Lyon",
    )
    tables = phone.sync_until(_has("contacts", lucie, version=web["version"]))
    mine = tables["contacts"][lucie]
    assert (mine["email"], mine["note"], mine["city"], mine["_status"]) == (
        "lucie@moreau.fr",
        "Rappeler après 17 h",
        "Lyon",
        "synced",
    )
    assert _ok(bruno.get(f"{V1}/sync/alerts"))["alerts"] == []


def test_an_all_day_interaction_with_a_budget_made_offline_is_whole_days_with_its_money_on_the_web(
    system, org, phones
):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    phone = phones(bruno)
    phone.synced()
    salon = str(uuid.uuid4())
    day = datetime.combine((_now() + 7 * DAY).date(), datetime.min.time(), UTC)
    phone.create(
        "interactions",
        {
            "id": salon,
            "subject": "Salon de la boulangerie",
            "type": "sales_opportunity",
            "start_at": _ms(day),
            "all_day": True,
            "owner_id": bruno.user["id"],
            "budget_amount": "1500.00",
            "budget_currency": "EUR",
            "contact_ids": "[]",
            "company_ids": "[]",
        },
    )

    answer = phone.synced()

    assert _rejected(answer) == {}
    web = _ok(bruno.get(f"{V1}/interactions/{salon}"))
    assert (web["type"], web["all_day"], web["budget"]) == (
        "sales_opportunity",
        True,
        {"amount": "1500.00", "currency": "EUR"},
    )
    assert web["start_at"].startswith(day.date().isoformat())
    tables = phone.sync_until(_has("interactions", salon, version=web["version"]))
    mine = tables["interactions"][salon]
    assert (mine["all_day"], mine["budget_amount"], mine["budget_currency"], mine["start_at"]) == (
        True,
        "1500.00",
        "EUR",
        _ms(web["start_at"]),
    )


def test_an_invitation_brings_a_meeting_to_the_phone_and_refusing_it_takes_it_off(system, org, phones):
    admin = org["admin"]
    _ok(admin.patch(f"{V1}/settings", json={"multi_user_interactions": True}))
    bruno = _field_user(system, admin)
    client = _contact(admin, "Paul", "Lefèvre")
    meeting = _interaction(admin, admin.user["id"], _now() + 3 * DAY, contact_ids=[client["id"]])
    phone = phones(bruno)
    phone.synced()
    assert meeting["id"] not in phone.tables()["interactions"]

    _created(
        admin.post(f"{V1}/interactions/{meeting['id']}/participants", json={"user_id": bruno.user["id"]})
    )
    participant = f"{meeting['id']}:{bruno.user['id']}"
    tables = phone.sync_until(
        _all(
            _has("interactions", meeting["id"]),
            _has("contacts", client["id"]),
            _has("participants", participant, status="invited"),
        )
    )
    assert tables["participants"][participant]["interaction_id"] == meeting["id"]

    _ok(bruno.post(f"{V1}/interactions/{meeting['id']}/participants/me/refuse"))
    tables = phone.sync_until(lambda t: meeting["id"] not in t["interactions"])

    assert meeting["id"] not in tables["interactions"]
    assert client["id"] not in tables["contacts"]
    assert participant not in tables["participants"]


def test_a_contact_unlinked_from_the_users_only_meeting_leaves_the_phone(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne, paul = _contact(admin, "Jeanne", "Dupont"), _contact(admin, "Paul", "Lefèvre")
    visit = _interaction(admin, bruno.user["id"], _now() - DAY, contact_ids=[jeanne["id"], paul["id"]])
    phone = phones(bruno)
    phone.sync_until(_all(_has("contacts", jeanne["id"]), _has("contacts", paul["id"])))

    _ok(admin.patch(f"{V1}/interactions/{visit['id']}", json={"contact_ids": [jeanne["id"]]}))
    tables = phone.sync_until(lambda t: paul["id"] not in t["contacts"])

    assert set(tables["contacts"]) == {jeanne["id"]}
    assert json.loads(tables["interactions"][visit["id"]]["contact_ids"]) == [jeanne["id"]]
    assert _ok(admin.get(f"{V1}/contacts/{paul['id']}"))["last_name"] == "Lefèvre"  # still on the web


def test_a_read_only_users_deletion_is_refused_and_the_contact_comes_back(system, org, phones):
    admin = org["admin"]
    reader = _field_user(system, admin, read_only=True)
    jeanne = _in_scope_contact(admin, reader)
    phone = phones(reader)
    phone.sync_until(_has("contacts", jeanne["id"]))
    phone.delete("contacts", jeanne["id"])

    answer = phone.synced()

    assert _rejected(answer) == {"contacts": [jeanne["id"]]}
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))["last_name"] == "Dupont"
    tables = phone.sync_until(_has("contacts", jeanne["id"], _status="synced"))
    assert (
        tables["contacts"][jeanne["id"]]["first_name"],
        tables["contacts"][jeanne["id"]]["last_name"],
    ) == (
        "Jeanne",
        "Dupont",
    )


def test_an_invalid_value_is_refused_alone_and_reverted_while_the_rest_of_the_push_applies(
    system, org, phones
):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    jeanne = _in_scope_contact(admin, bruno)
    phone = phones(bruno)
    phone.sync_until(_has("contacts", jeanne["id"]))
    phone.update("contacts", jeanne["id"], {"email": "pas-une-adresse"})
    lucie = str(uuid.uuid4())
    phone.create("contacts", {"id": lucie, "first_name": "Lucie", "last_name": "Moreau"})

    answer = phone.synced()

    assert _rejected(answer) == {"contacts": [jeanne["id"]]}
    assert answer["push"]["answer"]["applied"] == 1
    [alert] = answer["push"]["answer"]["alerts"]
    assert (alert["record_id"], alert["reason"]) == (jeanne["id"], "invalid")
    assert "email" in alert["message"]
    assert _ok(admin.get(f"{V1}/contacts/{jeanne['id']}"))["email"] is None
    assert _ok(admin.get(f"{V1}/contacts/{lucie}"))["last_name"] == "Moreau"
    tables = phone.sync_until(_has("contacts", jeanne["id"], email=None, _status="synced"))
    assert tables["contacts"][lucie]["_status"] == "synced"
    assert [a["reason"] for a in _ok(bruno.get(f"{V1}/sync/alerts"))["alerts"]] == ["invalid"]


def test_a_project_brings_its_contacts_and_companies_and_leaving_it_takes_them_off(system, org, phones):
    admin = org["admin"]
    bruno = _field_user(system, admin)
    site = _company(admin, "Pomme Entrepôts Rungis")
    chef = _contact(admin, "Marc", "Chef-de-chantier")
    project = _created(
        admin.post(
            f"{V1}/projects",
            json={
                "name": "Rénovation entrepôt",
                "user_ids": [bruno.user["id"]],
                "contact_ids": [chef["id"]],
                "company_ids": [site["id"]],
            },
        )
    )
    phone = phones(bruno)
    tables = phone.sync_until(
        _all(_has("projects", project["id"]), _has("contacts", chef["id"]), _has("companies", site["id"]))
    )
    mine = tables["projects"][project["id"]]
    assert mine["name"] == "Rénovation entrepôt"
    assert (
        json.loads(mine["user_ids"]),
        json.loads(mine["contact_ids"]),
        json.loads(mine["company_ids"]),
    ) == (
        [bruno.user["id"]],
        [chef["id"]],
        [site["id"]],
    )

    _ok(admin.patch(f"{V1}/projects/{project['id']}", json={"user_ids": [admin.user["id"]]}))
    tables = phone.sync_until(lambda t: project["id"] not in t["projects"])

    assert project["id"] not in tables["projects"]
    assert chef["id"] not in tables["contacts"] and site["id"] not in tables["companies"]
