"""Geographic check-ins through the gateway: what the field app sends when a visit starts and ends."""

from __future__ import annotations

from tests.e2e.conftest import create_user

V1 = "/api/v1"
OPERA = {"latitude": 48.8719, "longitude": 2.3316, "accuracy_m": 12.5}  # 86 m from the Boulangerie
PYRAMIDE = {"latitude": 48.8611, "longitude": 2.3358, "accuracy_m": 8}  # 1279 m from it
DELIVERY = {
    "name": "Delivery",
    "statuses": [
        {"key": "planned", "name": "Planned"},
        {"key": "delivered", "name": "Delivered", "closed": True},
    ],
}


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_a_visit_is_checked_in_within_the_radius_and_checked_out_with_its_duration(system, org):
    admin = org["admin"]
    position = {"latitude": 48.8724, "longitude": 2.3325, "source": "phone_gps"}
    boulangerie = _ok(
        admin.post(
            f"{V1}/companies", json={"name": "Boulangerie Dupont Paris", "address": {"position": position}}
        ),
        201,
    )["id"]
    kind = _ok(
        admin.request("PUT", f"{V1}/interaction-types/delivery", json={**DELIVERY, "checkin_radius_m": 200})
    )
    assert kind["checkin_radius_m"] == 200
    livraison = _ok(
        admin.post(
            f"{V1}/interactions",
            json={
                "subject": "Livraison Boulangerie Dupont Paris",
                "type": "delivery",
                "start_at": "2026-12-07T09:00:00+01:00",
                "company_ids": [boulangerie],
            },
        ),
        201,
    )["id"]
    check_ins = f"{V1}/interactions/{livraison}/check-ins"

    too_far = _problem(admin.post(check_ins, json=PYRAMIDE), 422)
    assert too_far["detail"] == "1.3 km from Boulangerie Dupont Paris, allowed 200 m"
    assert _ok(admin.get(check_ins)) == {"check_ins": []}

    bad = _problem(admin.post(check_ins, json={**OPERA, "latitude": 91}), 422)
    assert [error["field"] for error in bad["errors"]] == ["latitude"]

    visit = _ok(admin.post(check_ins, json=OPERA), 201)
    assert (visit["distance_m"], visit["position_known"], visit["place"]["name"]) == (
        86,
        True,
        "Boulangerie Dupont Paris",
    )
    _problem(admin.post(check_ins, json=OPERA), 409)

    reader = system.login(create_user(admin, read_only=True)["email"])
    _problem(reader.post(check_ins, json=OPERA), 403)
    _problem(reader.post(f"{V1}/interactions/{livraison}/check-out"), 403)
    stranger = system.login(system.bootstrap_org()[1])
    _problem(stranger.post(check_ins, json=OPERA), 404)
    _problem(stranger.get(check_ins), 404)

    closed = _ok(admin.post(f"{V1}/interactions/{livraison}/check-out"))
    assert closed["id"] == visit["id"] and closed["duration_seconds"] >= 0
    _problem(admin.post(f"{V1}/interactions/{livraison}/check-out"), 409)
    listed = _ok(reader.get(check_ins))["check_ins"]
    assert [(c["id"], c["checked_out_at"]) for c in listed] == [(visit["id"], closed["checked_out_at"])]


def test_a_check_in_on_a_record_without_position_is_allowed_and_says_so(org):
    admin = org["admin"]
    jeanne = _ok(admin.post(f"{V1}/contacts", json={"first_name": "Jeanne", "last_name": "Dupont"}), 201)[
        "id"
    ]
    visite = _ok(
        admin.post(
            f"{V1}/interactions",
            json={
                "subject": "Visite Jeanne Dupont",
                "type": "meeting",
                "start_at": "2026-12-07T14:00:00+01:00",
                "contact_ids": [jeanne],
            },
        ),
        201,
    )["id"]

    visit = _ok(admin.post(f"{V1}/interactions/{visite}/check-ins", json=PYRAMIDE), 201)

    assert (visit["position_known"], visit["distance_m"], visit["place"]) == (False, None, None)
    assert visit["note"].startswith("no position is known")
