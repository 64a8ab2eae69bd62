"""A .vcf file's shape is bounded before its cards are read; properties unfold in one pass;
charsets that can hide markup are refused."""

from __future__ import annotations

import io

import pytest
from vobject.base import getLogicalLines

from crm.errors import InvalidInput
from services.contacts.vcard.limits import VCardLimits, check_shape, logical_lines, refuse_hiding_charset

LIMITS = VCardLimits(max_lines=100_000, max_property_chars=1_000_000)
HEAD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoé Gérard\r\n"
TAIL = "END:VCARD\r\n"


def _refusal(content: str, limits: VCardLimits = LIMITS) -> str:
    with pytest.raises(InvalidInput) as raised:
        check_shape(content, limits)
    ((error),) = raised.value.errors
    assert error["field"] == "content"
    return error["message"]


def test_four_megabytes_of_folded_lines_are_refused_before_any_card_is_read():
    # vobject re-read the property at every fold: this one kept a worker busy for minutes.
    content = HEAD + "NOTE:" + "a\r\n " * 1_000_000 + "b\r\n" + TAIL

    assert "vcard_max_lines" in _refusal(content)
    assert "vcard_max_property_chars" in _refusal(content, VCardLimits(10**7, 1_000_000))


def test_quoted_printable_soft_breaks_count_as_folds():
    content = (
        HEAD.replace("3.0", "2.1") + "NOTE;ENCODING=QUOTED-PRINTABLE:" + "=\r\n" * 200_000 + "b\r\n" + TAIL
    )

    assert "vcard_max_lines" in _refusal(content)
    message = _refusal(content, VCardLimits(max_lines=1_000_000, max_property_chars=100_000))
    assert "property 4 holds 400032 characters" in message


def test_a_file_of_too_many_lines_is_refused_naming_the_setting():
    content = (HEAD + "NOTE:Rendez-vous au 3e étage\r\n" + TAIL) * 200

    assert "vcard_max_lines" in _refusal(content, VCardLimits(max_lines=1000, max_property_chars=100_000))


def test_a_utf7_file_is_refused():
    assert "UTF-7" in _refusal("+/v8-BEGIN:VCARD\r\nFN:Zo+AOk-\r\nEND:VCARD\r\n")


def test_a_file_within_the_limits_passes():
    check_shape(HEAD + "NOTE:" + "Rendez-vous au 3e étage, " * 100 + "\r\n" + TAIL, LIMITS)


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "NOTE:Rendez-vous au 3e \r\n étage; badge\r\n\trequis\r\n" + TAIL,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 =\r\ncr=C3=A8me=\r\n\r\n"
        "FN:Zo=C3=A9\r\nEND:VCARD\r\n",
        "BEGIN:VCARD\nN;CHARSET=UTF-8;QUOTED-PRINTABLE:G=C3=A9rard;Zo=\n=C3=A9;;;\n \nEND:VCARD\n",
        HEAD + "NOTE:" + "a\r\n " * 2000 + "b\r\n" + TAIL,
    ],
)
def test_properties_unfold_as_vobject_unfolds_them(text):
    assert list(logical_lines(text)) == list(getLogicalLines(io.StringIO(text), allowQP=True))


@pytest.mark.parametrize(
    "charset", ["UTF-7", "utf7", "ISO-2022-JP", "HZ-GB-2312", "unicode_escape", "UTF-16"]
)
def test_a_charset_that_can_hide_markup_is_refused_naming_the_property(charset):
    with pytest.raises(InvalidInput) as raised:
        refuse_hiding_charset("NOTE", {"CHARSET": [charset]})

    assert [error["field"] for error in raised.value.errors] == ["NOTE"]
    assert f"CHARSET={charset}" in raised.value.detail


@pytest.mark.parametrize(
    "params",
    [
        {"CHARSET": ["UTF-8"]},
        {"CHARSET": ["ISO-8859-1"]},
        {"CHARSET": ["windows-1252"]},
        {"ENCODING": ["BASE64"]},
    ],
)
def test_ordinary_charsets_and_transfer_encodings_pass(params):
    refuse_hiding_charset("PHOTO", params)


def test_a_charset_nobody_knows_is_refused_naming_the_property():
    with pytest.raises(InvalidInput) as raised:
        refuse_hiding_charset("FN", {"CHARSET": ["klingon"], "ENCODING": ["8BIT"]})

    assert raised.value.errors[0]["field"] == "FN"
