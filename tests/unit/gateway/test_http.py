"""The gateway's edge: request ids and access log, body parsing, downloads."""

from __future__ import annotations

import logging
from urllib.parse import unquote

import pytest
from werkzeug.routing import Map
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from crm.errors import InvalidInput, MalformedRequest
from crm.settings import Settings
from services.gateway.http import (
    GatewayApp,
    attachment_response,
    read_json,
    showable_file_name,
)
from services.gateway.query_parameters import refuse_unknown_query
from services.gateway.schemas import ContactListQuery


def _request(body: bytes) -> Request:
    return Request(EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ())


def test_a_body_nested_a_thousand_levels_is_a_malformed_request_naming_the_body():
    with pytest.raises(MalformedRequest) as refused:
        read_json(_request(b'{"email":' * 1000 + b"1" + b"}" * 1000))

    assert refused.value.errors == [{"field": "body", "message": "JSON nested deeper than 64 levels"}]
    assert refused.value.detail.startswith("request body:")


def test_a_usual_body_is_read():
    assert read_json(_request(b'{"email": "alice@pomme.fr", "password": "x"}'))["email"] == "alice@pomme.fr"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("facture\u202efdp.exe", "facturefdp.exe"),
        ("\u2067devis\u2069 Chambre 404.pdf", "devis Chambre 404.pdf"),
        ("rapport\u200b\u200d.pdf", "rapport.pdf"),
        ("ligne\u2028deux\r\n.txt", "lignedeux.txt"),
        ("\u202e\u202c", "download"),
        ("Pomme Siège Central.vcf", "Pomme Siège Central.vcf"),
    ],
)
def test_file_names_lose_bidi_and_control_characters(given, shown):
    assert showable_file_name(given) == shown


def test_a_download_never_carries_a_right_to_left_override():
    disposition = attachment_response("BEGIN:VCARD", "text/vcard", "contrat\u202efdp.exe")
    header = disposition.headers["Content-Disposition"]

    assert "%E2%80%AE" not in header
    assert unquote(header.split("filename*=UTF-8''")[1]) == "contratfdp.exe"


class _Server:
    """What GatewayApp needs of nameko's web server: its settings and its routes (none here)."""

    def __init__(self, access_log: bool):
        self.settings = Settings.model_validate({"gateway": {"access_log": access_log}})

    def make_url_map(self) -> Map:
        return Map()


def _call(app: GatewayApp, headers: dict[str, str]) -> tuple[int, dict[str, str], dict]:
    response = Client(app).get("/api/v1/nowhere", headers=headers)
    return response.status_code, dict(response.headers), response.json


@pytest.mark.parametrize("switched_on", [True, False])
def test_one_access_line_per_request_unless_switched_off(caplog, switched_on):
    caplog.set_level(logging.INFO, logger="crm.access")

    status, headers, problem = _call(GatewayApp(_Server(switched_on)), {"X-Request-ID": "req-Pomme-1"})

    assert (status, headers["X-Request-ID"], problem["request_id"]) == (404, "req-Pomme-1", "req-Pomme-1")
    access = [record for record in caplog.records if record.name == "crm.access"]
    assert len(access) == (1 if switched_on else 0)
    if switched_on:
        assert access[0].getMessage().startswith("GET - 404 ")
        assert (access[0].route, access[0].status, access[0].request_id) == ("-", 404, "req-Pomme-1")


def test_an_odd_request_id_is_replaced_in_the_answer():
    _, headers, problem = _call(GatewayApp(_Server(True)), {"X-Request-ID": "a" * 129})

    assert headers["X-Request-ID"] == problem["request_id"] != "a" * 129


def _query_request(query: str) -> Request:
    return Request(EnvironBuilder(method="GET", query_string=query).get_environ())


def test_an_unknown_query_parameter_is_refused_naming_it():
    request = _query_request("email=alice@pomme.fr&q=Pomme&updated_sinse=2026")

    with pytest.raises(InvalidInput) as refused:
        refuse_unknown_query(request.args, ContactListQuery)

    assert refused.value.errors == [
        {"field": "email", "message": "unknown query parameter"},
        {"field": "updated_sinse", "message": "unknown query parameter"},
    ]
    assert refused.value.detail == "unknown query parameters: email, updated_sinse"


def test_the_query_parameters_a_route_declares_are_accepted():
    refuse_unknown_query(_query_request("q=Pomme&sort=email&limit=5&cursor=abc").args, ContactListQuery)


def test_a_route_without_a_query_model_refuses_any_parameter():
    with pytest.raises(InvalidInput, match="unknown query parameter: verbose"):
        refuse_unknown_query(_query_request("verbose=1").args, None)
