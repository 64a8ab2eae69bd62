"""The CSV routes of the gateway: their paths, their document, the upload and the downloads."""

from __future__ import annotations

import base64
import time
import zlib
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm.auth import Caller
from crm.settings import Settings
from services.gateway.http import ApiRoute
from services.gateway.openapi import build_document, routes_of
from services.gateway.service import GatewayService
from tests.unit.gateway.test_openapi import _refused_as_read_only_member

CSV_TEXT = "Nom;Prénom\r\nLefèvre;François\r\n"


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document(GatewayService)


def _gateway(contacts: MagicMock) -> GatewayService:
    auth = MagicMock()
    auth.caller.return_value = Caller("bob", "pomme", "member", False, "s-1", int(time.time()) + 900)
    return worker_factory(GatewayService, auth=auth, contacts=contacts)


def _request(method: str, path: str, **kwargs) -> Request:
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


@pytest.mark.parametrize(
    ("method", "path", "handler", "values"),
    [
        ("GET", "/api/v1/contacts-export.csv", "export_contacts_csv", {}),
        ("GET", "/api/v1/contacts/01a0-export", "get_contact", {"contact_id": "01a0-export"}),
        ("POST", "/api/v1/imports", "start_import", {}),
        ("GET", "/api/v1/imports/job-1", "get_import", {"job_id": "job-1"}),
        ("GET", "/api/v1/imports/job-1/errors", "list_import_errors", {"job_id": "job-1"}),
        ("GET", "/api/v1/imports/job-1/errors.csv", "export_import_errors", {"job_id": "job-1"}),
    ],
)
def test_each_csv_path_reaches_its_own_handler(method, path, handler, values):
    rules = [Rule(url, methods=[verb], endpoint=name) for verb, url, _, name in routes_of(GatewayService)]

    assert Map(rules).bind("crm.test").match(path, method) == (handler, values)


def test_the_import_route_takes_a_body_as_large_as_the_largest_file_allows():
    settings = Settings()
    (route,) = [
        entrypoint
        for entrypoint in getattr(GatewayService.start_import, "nameko_entrypoints", ())
        if isinstance(entrypoint, ApiRoute)
    ]

    limit = route.body_limit(settings)

    assert limit >= settings.contacts.import_max_bytes * 4 // 3
    assert limit > settings.gateway.max_body_bytes


def test_the_document_describes_the_import_and_the_csv_downloads(document):
    start = document["paths"]["/api/v1/imports"]["post"]
    export = document["paths"]["/api/v1/contacts-export.csv"]["get"]
    report = document["paths"]["/api/v1/imports/{job_id}/errors.csv"]["get"]

    assert {"200", "202", "403", "413", "422"} <= set(start["responses"])
    assert "content_base64" in document["components"]["schemas"]["ImportRequest"]["properties"]
    assert export["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert "text/csv" in report["responses"]["200"]["content"]
    assert {p["name"] for p in export["parameters"]} == {
        "q",
        "sort",
        "direction",
        "language",
        "layout",
        "delimiter",
    }


def test_a_read_only_member_is_refused_an_import(document):
    assert _refused_as_read_only_member("POST", "/api/v1/imports", "start_import")
    assert not _refused_as_read_only_member("GET", "/api/v1/contacts-export.csv", "export_contacts_csv")
    assert "403" in document["paths"]["/api/v1/imports"]["post"]["responses"]


def test_the_upload_is_forwarded_compressed_and_answered_202_with_the_job(document):
    contacts = MagicMock()
    contacts.start_import.return_value = {"id": "job-1", "status": "queued", "created": True}
    body = {
        "file_name": "clients.csv",
        "content_base64": base64.b64encode(CSV_TEXT.encode()).decode(),
        "dry_run": True,
        "mapping": {"Nom": "last_name"},
    }

    response = _gateway(contacts).start_import(_request("POST", "/api/v1/imports", json=body))

    assert (response.status_code, response.headers["Location"]) == (202, "/api/v1/imports/job-1")
    assert response.json == {"id": "job-1", "status": "queued"}
    (sent,) = contacts.start_import.call_args.args
    assert (sent["compression"], sent["dry_run"], sent["mapping"]) == ("zlib", True, {"Nom": "last_name"})
    assert zlib.decompress(base64.b64decode(sent["content_base64"])).decode() == CSV_TEXT


def test_a_replayed_upload_is_answered_200():
    contacts = MagicMock()
    contacts.start_import.return_value = {"id": "job-1", "status": "done", "created": False}
    body = {"id": "job-1", "file_name": "clients.csv", "content_base64": base64.b64encode(b"Nom\n").decode()}

    response = _gateway(contacts).start_import(_request("POST", "/api/v1/imports", json=body))

    assert response.status_code == 200


def test_the_contact_export_joins_every_slice_behind_a_bom_for_excel():
    contacts = MagicMock()
    contacts.export_contacts_csv.side_effect = [
        {"csv": "Prénom;Nom\r\nFrançois;Lefèvre\r\n", "next_cursor": "suite"},
        {"csv": "Zoé;Martin\r\n", "next_cursor": None},
    ]

    response = _gateway(contacts).export_contacts_csv(
        _request("GET", "/api/v1/contacts-export.csv", query_string={"q": "pomme", "language": "en"})
    )

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="contacts.csv"' in response.headers["Content-Disposition"]
    assert response.data == "\ufeffPrénom;Nom\r\nFrançois;Lefèvre\r\nZoé;Martin\r\n".encode()
    assert [call.args for call in contacts.export_contacts_csv.call_args_list] == [
        ("pomme", "last_name", "asc", "en", None),
        ("pomme", "last_name", "asc", "en", "suite"),
    ]


def test_the_contact_export_passes_its_layout_and_delimiter():
    contacts = MagicMock()
    contacts.export_contacts_csv.return_value = {"csv": "First Name\r\n", "next_cursor": None}

    _gateway(contacts).export_contacts_csv(
        _request("GET", "/api/v1/contacts-export.csv", query_string={"layout": "outlook", "delimiter": ";"})
    )

    assert contacts.export_contacts_csv.call_args.kwargs == {"layout": "outlook", "delimiter": ";"}


def test_the_error_report_is_named_after_the_imported_file():
    contacts = MagicMock()
    contacts.get_import.return_value = {"id": "job-1", "file_name": "clients été.csv"}
    contacts.export_import_errors_csv.return_value = {"csv": "row;reason\r\n", "next_cursor": None}

    response = _gateway(contacts).export_import_errors(
        _request("GET", "/api/v1/imports/job-1/errors.csv"), "job-1"
    )

    assert response.data.startswith(b"\xef\xbb\xbfrow;reason")
    assert "filename*=UTF-8''clients%20%C3%A9t%C3%A9-errors.csv" in response.headers["Content-Disposition"]
