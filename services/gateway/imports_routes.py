"""HTTP routes for CSV: contact imports (background jobs with progress and an error report)
and the CSV export of any contact search.

An import is sent as JSON, the file base64-encoded in ``content_base64``. The
gateway forwards it zlib-compressed, so that the largest file allowed
(``contacts.import_max_bytes``) stays within the broker's message size limit.
CSV downloads are UTF-8 with a BOM and ``;`` between fields: French Excel opens
them with their accents as they are.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from typing import Any, Literal

from werkzeug.wrappers import Request, Response

from crm.errors import invalid
from services.contacts.csv import schemas as imports_api
from services.gateway.http import attachment_response, json_response, read_body, read_query, route
from services.gateway.schemas import ContactCsvExportQuery, ImportPageQuery


class ContactCsvLayoutQuery(ContactCsvExportQuery):
    """The export's query, with the layout (the CRM's, Google's or Outlook's) and the delimiter."""

    layout: imports_api.ExportLayout = "crm"
    delimiter: Literal[";", ",", "\t"] | None = None


V1 = "/api/v1"
CSV = "text/csv"
# Excel reads a CSV file as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"


def _import_body_limit(settings: Any) -> int:
    """Room for the largest file allowed once base64-encoded, and for the options around it."""
    return settings.contacts.import_max_bytes * 4 // 3 + 65536


def _compressed(content_base64: str) -> str:
    try:
        raw = base64.b64decode(content_base64)
    except (binascii.Error, ValueError):
        raise invalid("content_base64", "not valid base64") from None
    return base64.b64encode(zlib.compress(raw, 1)).decode()


def _csv_download(fetch: Callable[[str | None], dict[str, Any]], file_name: str) -> Response:
    """A CSV document fetched a slice per call (so that no call outlives the RPC deadline)."""
    slices, cursor = [], None
    while True:
        page = fetch(cursor)
        slices.append(page["csv"])
        cursor = page["next_cursor"]
        if not isinstance(cursor, str):  # null after the last slice
            return attachment_response(BOM + "".join(slices), CSV, file_name)


class ImportsRoutes:
    """Mixed into the gateway service; ``self.contacts`` is the RPC client."""

    contacts: Any
    auth: Any

    @route(
        "POST",
        f"{V1}/imports",
        summary="Import contacts from a CSV file; the rows are imported in the background",
        tag="imports",
        body=imports_api.ImportRequest,
        response=imports_api.ImportJobOut,
        status=202,
        replay_status=200,
        errors=(403, 409),
        max_body_bytes=_import_body_limit,
        extra={
            "description": "The file goes base64-encoded in `content_base64`. Encoding (UTF-8 with or "
            "without BOM, UTF-16 with or without BOM, Windows-1252, ISO-8859-15) and delimiter (`;` `,` tab) "
            "are detected; French and English headers are recognised, `mapping` overrides them. "
            "Contacts are updated or created by e-mail; `dry_run` writes nothing. "
            "Follow the job at `Location` until `status` is `done` or `failed`."
        },
    )
    def start_import(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, imports_api.ImportRequest)
        data = body.model_dump(mode="json", exclude_unset=True)
        data.update(content_base64=_compressed(body.content_base64), compression="zlib")
        result = self.contacts.start_import(data)
        created = result.pop("created", True)
        return json_response(
            result, status=202 if created else 200, headers={"Location": f"{V1}/imports/{result['id']}"}
        )

    @route(
        "GET",
        f"{V1}/imports",
        summary="The organisation's imports, latest first",
        tag="imports",
        query=ImportPageQuery,
        response=imports_api.ImportJobPage,
    )
    def list_imports(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, ImportPageQuery)
        return json_response(self.contacts.list_imports(query.limit, query.cursor))

    @route(
        "GET",
        f"{V1}/imports/<string:job_id>",
        summary="An import and its progress (rows_done of total_rows)",
        tag="imports",
        response=imports_api.ImportJobOut,
        errors=(404,),
    )
    def get_import(self, request: Request, job_id: str) -> Response:
        self.auth.caller()
        return json_response(self.contacts.get_import(job_id))

    @route(
        "GET",
        f"{V1}/imports/<string:job_id>/errors",
        summary="Why rows of an import were refused: row, line, column, reason",
        tag="imports",
        query=ImportPageQuery,
        response=imports_api.ImportRowErrorPage,
        errors=(404,),
    )
    def list_import_errors(self, request: Request, job_id: str) -> Response:
        self.auth.caller()
        query = read_query(request, ImportPageQuery)
        return json_response(self.contacts.list_import_errors(job_id, query.limit, query.cursor))

    @route(
        "GET",
        f"{V1}/imports/<string:job_id>/errors.csv",
        summary="The error report of an import as a CSV download (UTF-8 with BOM, `;`)",
        tag="imports",
        response_media_type=CSV,
        errors=(404,),
    )
    def export_import_errors(self, request: Request, job_id: str) -> Response:
        self.auth.caller()
        job = self.contacts.get_import(job_id)
        stem = job["file_name"].rsplit(".", 1)[0] or "import"
        return _csv_download(
            lambda cursor: self.contacts.export_import_errors_csv(job_id, cursor), f"{stem}-errors.csv"
        )

    # Not under /contacts/, where <contact_id> would take its name.
    @route(
        "GET",
        f"{V1}/contacts-export.csv",
        summary="Every contact a search finds, in its order, as a CSV download (UTF-8 with BOM, `;`; "
        "or `layout=google`/`outlook`, `,`)",
        tag="contacts",
        query=ContactCsvLayoutQuery,
        response_media_type=CSV,
    )
    def export_contacts_csv(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, ContactCsvLayoutQuery)
        options = {"layout": query.layout, "delimiter": query.delimiter}
        return _csv_download(
            lambda cursor: self.contacts.export_contacts_csv(
                query.q, query.sort, query.direction, query.language, cursor, **options
            ),
            "contacts.csv",
        )
