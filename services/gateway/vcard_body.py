"""A .vcf request body as text: in the charset the request names, else as its writer meant it.

Browsers send a .vcf as ``text/x-vcard`` with no charset; an Outlook card is then
Windows-1252 bytes that say ``CHARSET=Windows-1252`` inside (``vcard.charsets``).
A named charset that can hide markup (UTF-7 writes "<" as "+ADw-") is refused.
"""

from __future__ import annotations

from werkzeug.wrappers import Request

from crm.errors import MalformedRequest, UnsupportedMediaType
from services.contacts.vcard.charsets import decode_vcf
from services.contacts.vcard.limits import hides_markup
from services.gateway.http import read_text


def read_vcf(request: Request, media_types: tuple[str, ...], max_bytes: int) -> str:
    """The body's text; an unreadable one is 400 (named charset) or 422 naming the card."""
    charset = request.mimetype_params.get("charset")
    if charset is not None:
        if hides_markup(charset):
            raise UnsupportedMediaType(f"charset {charset} can hide markup; send the file as UTF-8")
        return read_text(request, media_types, max_bytes)
    request.get_data(cache=True)  # kept for a second reading if it is not UTF-8
    try:
        return read_text(request, media_types, max_bytes)
    except MalformedRequest as exc:
        raw = request.get_data(cache=True)
        if type(exc) is not MalformedRequest or not raw.strip():  # another media type, too big, empty
            raise
        return decode_vcf(raw)
