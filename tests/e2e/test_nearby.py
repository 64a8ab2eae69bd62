"""Positions and nearest-first lists through the gateway: what the field app asks for over HTTP."""

from __future__ import annotations

V1 = "/api/v1"
OPERA = "48.8719,2.3316"


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _site(api, name: str, latitude: float, longitude: float, source: str = "typed") -> dict:
    position = {"latitude": latitude, "longitude": longitude, "source": source}
    return _created(api.post(f"{V1}/companies", json={"name": name, "address": {"position": position}}))


def _problem_fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def test_clients_are_listed_nearest_first_with_their_distance_and_page_by_page(org):
    api = org["admin"]
    _site(api, "Pomme Louvre", 48.8606, 2.3376)
    _site(api, "Boulangerie Dupont Paris", 48.8724, 2.3325, "phone_gps")
    _site(api, "Pomme Lyon", 45.7640, 4.8357)
    _site(api, "Pomme Siège Central", 48.8693, 2.3311)
    _created(api.post(f"{V1}/companies", json={"name": "Pomme Sans Position"}))

    first = api.get(f"{V1}/companies", params={"near": OPERA, "limit": 2})
    assert first.status_code == 200, first.text
    second = api.get(
        f"{V1}/companies", params={"near": OPERA, "limit": 2, "cursor": first.json()["next_cursor"]}
    )
    items = first.json()["items"] + second.json()["items"]

    assert [item["name"] for item in items] == [
        "Boulangerie Dupont Paris",
        "Pomme Siège Central",
        "Pomme Louvre",
        "Pomme Lyon",
    ]
    assert [item["distance_m"] for item in items][:3] == [86, 291, 1331]
    assert items[0]["address"]["position"] == {
        "latitude": 48.8724,
        "longitude": 2.3325,
        "source": "phone_gps",
    }
    assert second.json()["next_cursor"] is None

    close = api.get(f"{V1}/companies", params={"near": OPERA, "within_m": "1000"}).json()["items"]
    assert [item["name"] for item in close] == ["Boulangerie Dupont Paris", "Pomme Siège Central"]
    usual = api.get(f"{V1}/companies").json()["items"]
    assert [item["name"] for item in usual][:2] == ["Boulangerie Dupont Paris", "Pomme Louvre"]
    assert {item["distance_m"] for item in usual} == {None}


def test_contacts_too_and_a_position_is_changed_by_patch(org):
    api = org["admin"]
    far = _created(
        api.post(
            f"{V1}/contacts",
            json={"last_name": "Dupont", "address": {"position": {"latitude": 45.764, "longitude": 4.8357}}},
        )
    )
    _created(
        api.post(
            f"{V1}/contacts",
            json={"last_name": "Lefèvre", "address": {"position": {"latitude": 48.872, "longitude": 2.332}}},
        )
    )
    assert [c["last_name"] for c in api.get(f"{V1}/contacts", params={"near": OPERA}).json()["items"]] == [
        "Lefèvre",
        "Dupont",
    ]

    gps = {"latitude": 48.8719, "longitude": 2.3316, "source": "phone_gps"}
    moved = api.patch(f"{V1}/contacts/{far['id']}", json={"address": {"position": gps}})
    assert moved.status_code == 200, moved.text
    nearest = api.get(f"{V1}/contacts", params={"near": OPERA}).json()["items"]
    assert [(c["last_name"], c["distance_m"]) for c in nearest][0] == ("Dupont", 0)
    assert api.get(f"{V1}/contacts/{far['id']}").json()["address"]["position"] == gps


def test_bad_positions_and_bad_near_are_422_naming_the_field(org):
    api = org["admin"]
    ninety_one = {"name": "Pomme Pôle", "address": {"position": {"latitude": 91, "longitude": 2.35}}}
    as_text = {"name": "Pomme Texte", "address": {"position": "48.8566,2.3522"}}
    latitude_text = {"address": {"position": {"latitude": "48.8", "longitude": 2.3}}}

    assert _problem_fields(api.post(f"{V1}/companies", json=ninety_one)) == ["address.position.latitude"]
    assert _problem_fields(api.post(f"{V1}/companies", json=as_text)) == ["address.position"]
    assert _problem_fields(api.post(f"{V1}/contacts", json={"last_name": "X", **latitude_text})) == [
        "address.position.latitude"
    ]
    for path in ("companies", "contacts"):
        assert _problem_fields(api.get(f"{V1}/{path}", params={"within_m": "500"})) == ["within_m"]
        assert _problem_fields(api.get(f"{V1}/{path}", params={"near": "91,2.35"})) == ["near"]
        assert _problem_fields(api.get(f"{V1}/{path}", params={"near": "Paris"})) == ["near"]
        assert _problem_fields(api.get(f"{V1}/{path}", params={"near": OPERA, "within_m": "-1"})) == [
            "within_m"
        ]
    refused = api.get(f"{V1}/companies", params={"near": "91,2.35"}).json()
    assert "latitude 91 is not between -90 and 90" in refused["detail"]
    assert api.get(f"{V1}/companies", params={"q": "pomme"}).json()["items"] == []
