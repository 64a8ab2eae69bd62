"""A record's QR code route: the record read through its own service first (404 as its GET), the
format chosen by the query (422 naming an unknown one), and how the document says so."""

from __future__ import annotations

import time
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.auth import Caller
from crm.errors import InvalidInput, NotFound
from crm.settings import parse_settings
from services.gateway.openapi import build_document
from services.gateway.service import GatewayService
from tests.qr_decoding import decoded_texts

PUBLIC_URL = "https://crm.pomme.fr"
COMPANY_ID = "01J9ZK3Q7C0MPANY"

# kind, handler, RPC client, read RPC
KINDS = [
    ("companies", "company_qr", "contacts", "get_company"),
    ("contacts", "contact_qr", "contacts", "get_contact"),
    ("projects", "project_qr", "interactions", "get_project"),
    ("interactions", "interaction_qr", "interactions", "get_interaction"),
]


# -- the routes ----------------------------------------------------------------------


def _gateway() -> GatewayService:
    auth = MagicMock()
    auth.caller.return_value = Caller("user-bob", "org-pomme", "member", True, "s-1", int(time.time()) + 900)
    return worker_factory(
        GatewayService,
        auth=auth,
        contacts=MagicMock(),
        interactions=MagicMock(),
        config={"CRM": parse_settings(f"gateway:\n  public_url: {PUBLIC_URL}\n")},
    )


def _request(path: str, **query: str) -> Request:
    return Request(EnvironBuilder(method="GET", path=path, query_string=query).get_environ())


@pytest.mark.parametrize(("kind", "handler", "client", "read"), KINDS)
def test_each_kind_is_read_through_its_own_service_and_encodes_its_address(kind, handler, client, read):
    gateway = _gateway()
    getattr(getattr(gateway, client), read).return_value = {"id": "rec-1", "name": "Boulangerie Dupont"}

    response = getattr(gateway, handler)(_request(f"/api/v1/{kind}/rec-1/qr"), "rec-1")

    getattr(getattr(gateway, client), read).assert_called_once_with("rec-1")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == f'inline; filename="{kind}-rec-1-qr.svg"'
    assert decoded_texts(response.get_data(), response.mimetype) == [f"{PUBLIC_URL}/{kind}/rec-1"]


def test_format_png_answers_a_png_of_the_same_address():
    gateway = _gateway()
    gateway.contacts.get_company.return_value = {"id": COMPANY_ID}

    response = gateway.company_qr(_request(f"/api/v1/companies/{COMPANY_ID}/qr", format="png"), COMPANY_ID)

    assert response.mimetype == "image/png"
    assert response.get_data().startswith(b"\x89PNG\r\n\x1a\n")
    assert decoded_texts(response.get_data(), "image/png") == [f"{PUBLIC_URL}/companies/{COMPANY_ID}"]


def test_a_record_the_service_does_not_find_is_not_found_and_no_image_is_made():
    gateway = _gateway()
    gateway.interactions.get_interaction.side_effect = NotFound("interaction int-other not found")

    with pytest.raises(NotFound):
        gateway.interaction_qr(_request("/api/v1/interactions/int-other/qr"), "int-other")


@pytest.mark.parametrize("image_format", ["gif", "SVG", ""])
def test_an_unknown_format_is_refused_naming_it_before_the_record_is_read(image_format):
    gateway = _gateway()

    with pytest.raises(InvalidInput) as raised:
        gateway.contact_qr(_request("/api/v1/contacts/c-1/qr", format=image_format), "c-1")

    assert raised.value.errors == [
        {"field": "format", "message": f"unknown format {image_format!r}: use svg or png"}
    ]
    gateway.contacts.get_contact.assert_not_called()


# -- the document --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/companies/{company_id}/qr",
        "/api/v1/contacts/{contact_id}/qr",
        "/api/v1/projects/{project_id}/qr",
        "/api/v1/interactions/{interaction_id}/qr",
    ],
)
def test_the_document_says_the_code_is_svg_or_png_chosen_by_format(path):
    operation = build_document(GatewayService)["paths"][path]["get"]

    assert operation["responses"]["200"]["content"] == {
        "image/svg+xml": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    }
    (image_format,) = [p for p in operation["parameters"] if p["in"] == "query"]
    assert image_format["name"] == "format" and image_format["schema"]["enum"] == ["svg", "png"]
    assert {"401", "404", "422"} <= set(operation["responses"])
