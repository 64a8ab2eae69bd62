"""QR code images read back by a real decoder: zxing-cpp, on the PNG as sent or on the SVG as cairo
renders it (cairosvg), never on a matrix our own code rebuilt."""

from __future__ import annotations

import io

import cairosvg
import zxingcpp
from PIL import Image


def image_of(body: bytes, media_type: str) -> Image.Image:
    """The picture a viewer shows for ``body``: a PNG opened, an SVG rasterised on white."""
    if media_type.startswith("image/svg+xml"):
        body = cairosvg.svg2png(bytestring=body, background_color="white")
    else:
        assert media_type.startswith("image/png"), media_type
    return Image.open(io.BytesIO(body))


def decoded_texts(body: bytes, media_type: str) -> list[str]:
    """The text of every QR code zxing-cpp finds in the image."""
    found = zxingcpp.read_barcodes(image_of(body, media_type), formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]
