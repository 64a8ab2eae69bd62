"""A record's QR code: the address it opens (from the gateway's templates, checked at start-up) and
the image a phone reads, decoded by zxing-cpp from the PNG and from the SVG as cairo renders it."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from crm.settings import SettingsError, parse_settings
from services.gateway.qr_codes import qr_image, record_url
from tests.qr_decoding import decoded_texts

PUBLIC_URL = "https://crm.pomme.fr"
COMPANY_ID = "01J9ZK3Q7C0MPANY"


def _gateway_settings(text: str = f"gateway:\n  public_url: {PUBLIC_URL}/\n"):
    return parse_settings(text)


# -- the address ---------------------------------------------------------------------


def test_a_company_opens_at_its_page_under_the_public_url_by_default():
    assert record_url(_gateway_settings().gateway, "companies", COMPANY_ID) == (
        f"{PUBLIC_URL}/companies/{COMPANY_ID}"
    )


def test_without_a_public_url_the_address_is_the_gateways_own():
    gateway = parse_settings("gateway:\n  host: 127.0.0.1\n  port: 8123\n").gateway

    assert record_url(gateway, "interactions", "int-1") == "http://127.0.0.1:8123/interactions/int-1"


def test_a_kinds_own_template_replaces_the_common_one_for_that_kind_only():
    settings = _gateway_settings(
        "gateway:\n"
        "  public_url: https://crm.pomme.fr\n"
        "  record_url_template: 'https://app.pomme.fr/#/{kind}/{id}'\n"
        "  record_url_templates:\n"
        "    contacts: '{public_url}/people/{id}?from=qr'\n"
    )

    assert record_url(settings.gateway, "contacts", "c-1") == "https://crm.pomme.fr/people/c-1?from=qr"
    assert record_url(settings.gateway, "projects", "p-1") == "https://app.pomme.fr/#/projects/p-1"


def test_an_id_is_escaped_in_the_address():
    assert record_url(_gateway_settings().gateway, "contacts", "a/b?c") == f"{PUBLIC_URL}/contacts/a%2Fb%3Fc"


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("record_url_template: '{public_url}/{kind}/{uuid}'", "unknown field {uuid}"),
        ("record_url_template: '{public_url}/companies'", "has no {id}"),
        ("record_url_template: '{public_url}/{kind}/{id'", "is not a template"),
        ("record_url_templates: {invoices: '{public_url}/{id}'}", "invoices"),
    ],
    ids=["unknown field", "no id", "unclosed brace", "unknown kind"],
)
def test_a_template_that_cannot_make_an_address_stops_the_start(setting, named):
    with pytest.raises(SettingsError) as raised:
        parse_settings(f"gateway:\n  {setting}\n")

    assert named in str(raised.value)


# -- the image -----------------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "media_type"), [("svg", "image/svg+xml"), ("png", "image/png")])
def test_the_image_decodes_to_the_address(image_format, media_type):
    url = f"{PUBLIC_URL}/companies/{COMPANY_ID}"

    assert decoded_texts(qr_image(url, image_format), media_type) == [url]


def test_the_svg_is_a_standalone_drawing_on_white_titled_with_its_address():
    url = f"{PUBLIC_URL}/contacts/c-1?from=qr&lang=fr"

    root = ElementTree.fromstring(qr_image(url, "svg"))

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == url
    assert decoded_texts(qr_image(url, "svg"), "image/svg+xml") == [url]


def test_a_long_address_still_decodes():
    url = f"{PUBLIC_URL}/interactions/{'x' * 400}"

    assert decoded_texts(qr_image(url, "png"), "image/png") == [url]
