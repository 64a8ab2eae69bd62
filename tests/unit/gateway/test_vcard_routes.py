"""The vCard routes at the edge: raw text bodies, downloads, body limits, and how the document says so."""

from __future__ import annotations

import time
from unittest.mock import MagicMock

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.auth import Caller
from crm.errors import MalformedRequest, ReadOnlyUser, UnsupportedMediaType
from crm.settings import Settings
from services.gateway.http import ApiRoute, attachment_response, read_text
from services.gateway.openapi import build_document
from services.gateway.problems import problem_from_exception
from services.gateway.service import GatewayService

CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lefèvre;François;;;\r\nFN:François Lefèvre\r\nEND:VCARD\r\n"
VCARD_TYPES = ("text/vcard", "text/x-vcard")


def _request(method: str = "POST", path: str = "/", **options) -> Request:
    return Request(EnvironBuilder(method=method, path=path, **options).get_environ())


# -- reading a raw text body -------------------------------------------------------


def test_a_vcard_body_is_read_as_utf8_text_without_its_bom():
    request = _request(data=("\ufeff" + CARD).encode(), content_type="text/vcard; charset=utf-8")

    assert read_text(request, VCARD_TYPES, 10_000) == CARD


def test_a_declared_charset_is_honoured():
    request = _request(data=CARD.encode("cp1252"), content_type="text/x-vcard; charset=windows-1252")

    assert "François" in read_text(request, VCARD_TYPES, 10_000)


@pytest.mark.parametrize(
    ("content_type", "data", "error"),
    [
        ("application/json", CARD.encode(), UnsupportedMediaType),
        ("text/vcard; charset=klingon", CARD.encode(), UnsupportedMediaType),
        ("text/vcard", CARD.encode("latin-1"), MalformedRequest),
        ("text/vcard", b"  \r\n", MalformedRequest),
        ("text/vcard", CARD.encode() * 100, RequestEntityTooLarge),
    ],
    ids=["json", "unknown charset", "not utf-8", "empty", "too large"],
)
def test_a_body_that_is_not_vcard_text_is_refused(content_type, data, error):
    with pytest.raises(error):
        read_text(_request(data=data, content_type=content_type), VCARD_TYPES, 5_000)


def test_a_body_over_the_route_limit_is_a_too_large_problem():
    problem = problem_from_exception(RequestEntityTooLarge("request body is over 5000 bytes"))

    assert problem.status_code == 413
    assert problem.json["type"] == "/docs/problems#too-large"


# -- downloads ---------------------------------------------------------------------


def test_a_download_is_utf8_vcard_with_an_ascii_name_and_the_exact_one():
    response = attachment_response(CARD, "text/vcard", "François Lefèvre.vcf")

    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Francois_Lefevre.vcf\"; filename*=UTF-8''Fran%C3%A7ois%20Lef%C3%A8vre.vcf"
    )
    assert response.get_data().decode() == CARD


@pytest.mark.parametrize("name", ["名前.vcf", '../"\r\n.vcf', ".vcf"])
def test_a_name_without_ascii_letters_or_with_header_breaking_characters_is_made_safe(name):
    disposition = attachment_response(CARD, "text/vcard", name).headers["Content-Disposition"]

    assert disposition.startswith('attachment; filename="')
    assert not {"\r", "\n", "/", "\\"} & set(disposition)
    assert disposition.count('"') == 2


# -- the routes --------------------------------------------------------------------


def _gateway(read_only: bool = False):
    caller = Caller("user-bob", "org-pomme", "member", read_only, "s-1", int(time.time()) + 900)
    auth = MagicMock()
    auth.caller.return_value = caller
    return worker_factory(GatewayService, auth=auth, contacts=MagicMock(), config={"CRM": Settings()})


def test_the_list_export_follows_every_page_into_one_download():
    gateway = _gateway()
    gateway.contacts.export_vcards.side_effect = [
        {"file_name": "contacts.vcf", "content": "A", "count": 1, "next_cursor": "page-2"},
        {"file_name": "contacts.vcf", "content": "B", "count": 1, "next_cursor": None},
    ]

    response = gateway.export_contacts_vcard(
        _request("GET", "/api/v1/contacts-export.vcf", query_string={"q": "pomme", "version": "4.0"})
    )

    assert response.get_data(as_text=True) == "AB"
    assert [call.args for call in gateway.contacts.export_vcards.call_args_list] == [
        ("pomme", "last_name", "asc", "4.0", None),
        ("pomme", "last_name", "asc", "4.0", "page-2"),
    ]
    assert response.headers["Content-Disposition"].startswith('attachment; filename="contacts.vcf"')


def test_the_import_hands_the_decoded_file_and_dry_run_to_the_service():
    gateway = _gateway()
    gateway.contacts.import_vcards.return_value = {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}

    response = gateway.import_contacts_vcard(
        _request(data=CARD.encode(), content_type="text/vcard", query_string={"dry_run": "true"})
    )

    assert response.status_code == 200
    gateway.contacts.import_vcards.assert_called_once_with(CARD, True)


def test_a_read_only_user_cannot_import():
    gateway = _gateway(read_only=True)

    with pytest.raises(ReadOnlyUser):
        gateway.import_contacts_vcard(_request(data=CARD.encode(), content_type="text/vcard"))
    gateway.contacts.import_vcards.assert_not_called()


def _route(handler: str) -> ApiRoute:
    (entrypoint,) = getattr(getattr(GatewayService, handler), ENTRYPOINT_EXTENSIONS_ATTR)
    return entrypoint


def test_the_import_route_takes_bodies_up_to_the_vcard_limit_and_others_the_gateway_limit():
    settings = Settings.model_validate({"contacts": {"vcard_max_bytes": 3_000_000}})

    assert _route("import_contacts_vcard").body_limit(settings) == 3_000_000
    assert _route("create_contact").body_limit(settings) == settings.gateway.max_body_bytes


def test_the_export_path_is_not_taken_for_a_contact_id():
    rules = {_route(name).url for name in ("get_contact", "export_contacts_vcard", "import_contacts_vcard")}

    assert "/api/v1/contacts-export.vcf" in rules and "/api/v1/contacts-import.vcf" in rules
    assert not any(url.startswith("/api/v1/contacts/") and url.endswith(".vcf") for url in rules)


# -- the document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document(GatewayService)


def test_the_document_says_the_import_takes_vcard_text_and_answers_json(document):
    operation = document["paths"]["/api/v1/contacts-import.vcf"]["post"]

    assert operation["requestBody"]["content"] == {"text/vcard": {"schema": {"type": "string"}}}
    assert set(operation["responses"]["200"]["content"]) == {"application/json"}
    assert {"403", "413", "415"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["dry_run"]


@pytest.mark.parametrize("path", ["/api/v1/contacts/{contact_id}/vcard", "/api/v1/contacts-export.vcf"])
def test_the_document_says_exports_answer_vcard_text_in_either_version(document, path):
    operation = document["paths"][path]["get"]

    assert operation["responses"]["200"]["content"] == {"text/vcard": {"schema": {"type": "string"}}}
    (version,) = [p for p in operation["parameters"] if p["name"] == "version"]
    assert version["schema"]["enum"] == ["3.0", "4.0"]
    assert "requestBody" not in operation
