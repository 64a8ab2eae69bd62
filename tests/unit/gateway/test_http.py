"""The gateway's body parsing and downloads."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.errors import MalformedRequest
from services.gateway.http import attachment_response, read_json, showable_file_name


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
