"""QR codes of records: the web address a code opens, and the code drawn as SVG or PNG (segno)."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import segno
from pydantic import BeforeValidator

from crm.validation import QueryInput

QrFormat = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
# Pixels per module and the quiet zone in modules (4, as the standard asks): a company's address
# (version 5, 37 modules) is 360 px wide, which a phone reads from a printed page or a screen.
SCALE = 8
BORDER = 4


def _known_format(value: Any) -> Any:
    if isinstance(value, str) and value not in MEDIA_TYPES:
        raise ValueError(f"unknown format {value!r}: use {' or '.join(MEDIA_TYPES)}")
    return value


class QrQuery(QueryInput):
    # The image format; the Accept header is not read, so a link or an <img src> chooses with this.
    format: Annotated[QrFormat, BeforeValidator(_known_format)] = "svg"


def record_url(gateway: Any, kind: str, record_id: str) -> str:
    """The web address of a record, from the gateway's templates (``gateway.record_url_template``,
    or the kind's own in ``gateway.record_url_templates``)."""
    return gateway.record_address(kind, record_id)


def qr_image(url: str, image_format: str) -> bytes:
    """``url`` as a QR code image, dark on white, with its quiet zone.

    Error correction M at least (segno raises it when that costs no extra size), so a
    creased or smudged printout still reads."""
    code = segno.make_qr(url, error="m", boost_error=True)
    buffer = io.BytesIO()
    if image_format == "svg":
        code.save(buffer, kind="svg", scale=SCALE, border=BORDER, light="#fff", title=url)
    else:
        code.save(buffer, kind="png", scale=SCALE, border=BORDER, light="#fff")
    return buffer.getvalue()
