"""HTTP routes for a record's QR code: a company, contact, project or interaction as the code
that opens its web address (``services.gateway.qr_codes``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.utils import secure_filename
from werkzeug.wrappers import Request, Response

from services.gateway.http import read_query, route
from services.gateway.qr_codes import MEDIA_TYPES, QrQuery, qr_image, record_url

V1 = "/api/v1"
QR = {
    "tag": "qr",
    "query": QrQuery,
    "response_media_type": ",".join(MEDIA_TYPES.values()),
    "errors": (404,),
}


class QrRoutes:
    """Mixed into the gateway service; the record is read through its own service first, so a
    record of another organisation, or one deleted, is 404 as its GET route answers."""

    contacts: Any
    interactions: Any
    auth: Any
    settings: Any

    @route(
        "GET",
        f"{V1}/companies/<string:company_id>/qr",
        summary="A QR code opening the company's web address (SVG, or PNG with format=png)",
        **QR,
    )
    def company_qr(self, request: Request, company_id: str) -> Response:
        return self._qr_answer(request, "companies", company_id, self.contacts.get_company)

    @route(
        "GET",
        f"{V1}/contacts/<string:contact_id>/qr",
        summary="A QR code opening the contact's web address (SVG, or PNG with format=png)",
        **QR,
    )
    def contact_qr(self, request: Request, contact_id: str) -> Response:
        return self._qr_answer(request, "contacts", contact_id, self.contacts.get_contact)

    @route(
        "GET",
        f"{V1}/projects/<string:project_id>/qr",
        summary="A QR code opening the project's web address (SVG, or PNG with format=png)",
        **QR,
    )
    def project_qr(self, request: Request, project_id: str) -> Response:
        return self._qr_answer(request, "projects", project_id, self.interactions.get_project)

    @route(
        "GET",
        f"{V1}/interactions/<string:interaction_id>/qr",
        summary="A QR code opening the interaction's web address (SVG, or PNG with format=png)",
        **QR,
    )
    def interaction_qr(self, request: Request, interaction_id: str) -> Response:
        return self._qr_answer(request, "interactions", interaction_id, self.interactions.get_interaction)

    def _qr_answer(
        self, request: Request, kind: str, record_id: str, read: Callable[[str], dict[str, Any]]
    ) -> Response:
        self.auth.caller()
        query = read_query(request, QrQuery)
        record = read(record_id)  # NotFound for another organisation's record or a deleted one
        record_id = record.get("id", record_id)
        image = qr_image(record_url(self.settings.gateway, kind, record_id), query.format)
        file_name = secure_filename(f"{kind}-{record_id}-qr.{query.format}") or f"qr.{query.format}"
        return Response(
            image,
            mimetype=MEDIA_TYPES[query.format],
            headers={"Content-Disposition": f'inline; filename="{file_name}"'},
        )
