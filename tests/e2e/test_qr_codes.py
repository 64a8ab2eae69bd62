"""A record's QR code over HTTP: the image a phone reads (decoded by zxing-cpp) opens the record's web
address; another organisation's record or a deleted one is 404, an unknown format 422."""

from __future__ import annotations

from tests.qr_decoding import decoded_texts

V1 = "/api/v1"


def _company(api, name: str = "Boulangerie Dupont Paris") -> str:
    response = api.post(f"{V1}/companies", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _interaction(api, company_id: str) -> str:
    body = {
        "subject": "Visite boulangerie",
        "type": "meeting",
        "start_at": "2026-12-01T09:00:00+01:00",
        "end_at": "2026-12-01T10:00:00+01:00",
        "company_ids": [company_id],
    }
    response = api.post(f"{V1}/interactions", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_company_and_an_interaction_print_as_codes_that_open_their_pages(system, org):
    admin = org["admin"]
    company_id = _company(admin)
    interaction_id = _interaction(admin, company_id)

    svg = admin.get(f"{V1}/companies/{company_id}/qr")
    png = admin.get(f"{V1}/interactions/{interaction_id}/qr", params={"format": "png"})

    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml"), svg.text
    assert decoded_texts(svg.content, svg.headers["Content-Type"]) == [
        f"{system.base_url}/companies/{company_id}"
    ]
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png", png.text
    assert decoded_texts(png.content, "image/png") == [f"{system.base_url}/interactions/{interaction_id}"]
    interaction_svg = admin.get(f"{V1}/interactions/{interaction_id}/qr")
    assert decoded_texts(interaction_svg.content, "image/svg+xml") == decoded_texts(png.content, "image/png")


def test_another_organisations_record_or_a_deleted_one_has_no_code(system, org):
    _, stranger_email = system.bootstrap_org()
    stranger = system.login(stranger_email)
    theirs = _company(stranger, "Fromagerie Martin Lyon")
    their_interaction = _interaction(stranger, theirs)
    ours = _company(org["admin"])
    assert org["admin"].delete(f"{V1}/companies/{ours}").status_code == 204

    for path in (f"companies/{theirs}", f"interactions/{their_interaction}", f"companies/{ours}"):
        response = org["admin"].get(f"{V1}/{path}/qr", params={"format": "png"})
        assert response.status_code == 404, (path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert org["admin"].get(f"{V1}/{path}").status_code == 404  # as the record's own GET answers
    assert stranger.get(f"{V1}/companies/{theirs}/qr").status_code == 200


def test_an_unknown_format_is_refused_naming_it(system, org):
    company_id = _company(org["admin"])

    response = org["admin"].get(f"{V1}/companies/{company_id}/qr", params={"format": "gif"})

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "format", "message": "unknown format 'gif': use svg or png"}
    ]


def test_without_a_token_there_is_no_code(system, org):
    company_id = _company(org["admin"])

    assert system.anonymous().get(f"{V1}/companies/{company_id}/qr").status_code == 401
