"""HTTP routes for documents: uploaded to an interaction, linked to records, downloaded.

A document is uploaded as ``multipart/form-data``: a ``file`` part (its
Content-Type is kept, else guessed from its name) and ``name`` and
``document_type`` fields. The gateway forwards the bytes base64-encoded (RPC
carries JSON only); the interactions service stores them in the blob store.
Downloads come back with the content type they were uploaded with, as an
attachment, never rendered by the browser.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import TypeAdapter, ValidationError
from werkzeug.wrappers import Request, Response

from crm.errors import UnsupportedMediaType, invalid
from crm.validation import validate
from services.gateway.http import (
    attachment_response,
    created_response,
    json_response,
    read_body,
    read_query,
    route,
)
from services.interactions import document_schemas as work_api

V1 = "/api/v1"
MULTIPART = "multipart/form-data"
OCTET_STREAM = "application/octet-stream"
# The multipart envelope and the form fields around the file.
MULTIPART_ROOM = 64 * 1024
_CONTENT_TYPE = TypeAdapter(work_api.ContentType)


def _upload_body_limit(settings: Any) -> int:
    return work_api.document_max_bytes(settings) + MULTIPART_ROOM


def _file_name(raw: str | None) -> str | None:
    """The last part of a file name as browsers send it (some send the whole path)."""
    if not raw:
        return None
    return PureWindowsPath(PurePosixPath(raw).name).name or None


def _content_type(declared: str | None, name: str | None) -> str:
    """The part's own Content-Type, else one guessed from the file name, else octet-stream."""
    for candidate in (declared, mimetypes.guess_type(name or "")[0]):
        if candidate and candidate != OCTET_STREAM:
            try:
                return _CONTENT_TYPE.validate_python(candidate)
            except ValidationError:
                continue
    return OCTET_STREAM


def read_upload(request: Request, max_bytes: int) -> dict[str, Any]:
    """What ``upload_document`` takes, read from a multipart form (``file``, ``name``, ``document_type``).

    A ``file`` part sent without a file name arrives as a form field: it is taken as UTF-8 text.
    """
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaType(
            f"Content-Type must be {MULTIPART}, with the document in a part named file"
        )
    upload = request.files.get("file")
    if upload is not None:
        content = upload.stream.read(max_bytes + 1)
        file_name = _file_name(upload.filename)
        declared = upload.mimetype
    elif "file" in request.form:
        content, file_name, declared = request.form["file"].encode(), None, None
    else:
        raise invalid("file", "send the document in a part named file")
    if len(content) > max_bytes:
        raise invalid("file", f"the document is over {max_bytes} bytes")
    if not content:
        raise invalid("file", "the document is empty")
    name = request.form.get("name") or file_name
    if name is None:
        raise invalid("name", "give the document a name, or send the file with its file name")
    fields = {"name": name, "document_type": request.form.get("document_type")}
    data = {key: value for key, value in fields.items() if value is not None}
    data["content_type"] = _content_type(declared, name)
    validate(work_api.DocumentUpload, {**data, "content_base64": ""})  # named now, before the bytes travel
    data["content_base64"] = base64.b64encode(content).decode()
    return data


def content_response(document: dict[str, Any]) -> Response:
    """The document's bytes as a download, with the content type it was uploaded with."""
    response = attachment_response(
        base64.b64decode(document["content_base64"]), OCTET_STREAM, document["name"]
    )
    response.headers["Content-Type"] = document["content_type"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class DocumentsRoutes:
    """Mixed into the gateway service; ``self.interactions`` is the RPC client."""

    interactions: Any
    auth: Any
    config: Any

    @route(
        "GET",
        f"{V1}/interactions/<string:interaction_id>/documents",
        summary="An interaction's documents: uploaded files and links",
        tag="documents",
        errors=(404,),
    )
    def list_documents(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller()
        return json_response({"documents": self.interactions.list_documents(interaction_id)})

    @route(
        "GET",
        f"{V1}/documents",
        summary="Documents of a contact or a company: those of the interactions linked to it, newest first",
        tag="documents",
        query=work_api.DocumentListQuery,
    )
    def list_record_documents(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, work_api.DocumentListQuery)
        return json_response(
            self.interactions.list_record_documents(query.model_dump(mode="json", exclude_none=True))
        )

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/documents",
        summary="Upload a document (multipart/form-data: file, name, document_type)",
        tag="documents",
        body=work_api.DocumentUploadForm,
        request_media_type=MULTIPART,
        status=201,
        errors=(403, 404),
        max_body_bytes=_upload_body_limit,
    )
    def upload_document(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        data = read_upload(request, work_api.document_max_bytes(self.config["CRM"]))
        result = self.interactions.upload_document(interaction_id, data)
        return created_response(result, f"{V1}/documents/{result['id']}/content")

    @route(
        "POST",
        f"{V1}/interactions/<string:interaction_id>/document-links",
        summary="Attach a link to an online document",
        tag="documents",
        body=work_api.DocumentLink,
        status=201,
        replay_status=200,
        errors=(403, 404, 409),
    )
    def add_document_link(self, request: Request, interaction_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, work_api.DocumentLink)
        result = self.interactions.add_document_link(
            interaction_id, body.model_dump(mode="json", exclude_unset=True)
        )
        return created_response(result, f"{V1}/interactions/{interaction_id}/documents")

    @route(
        "GET",
        f"{V1}/documents/<string:document_id>/content",
        summary="Download a document's file, with the content type it was uploaded with",
        tag="documents",
        response_media_type="*/*",
        errors=(404,),
    )
    def download_document(self, request: Request, document_id: str) -> Response:
        self.auth.caller()
        return content_response(self.interactions.get_document_content(document_id))
