"""Reading .vcf bytes sent without a charset: a BOM, UTF-8, else each card's CHARSET."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from crm.errors import InvalidInput
from services.contacts.vcard.charsets import decode_vcf
from services.contacts.vcard.reader import read_card, split_cards

FIXTURES = Path(__file__).parents[3] / "fixtures" / "vcard"


def test_an_outlook_card_in_windows_1252_reads_in_the_charset_it_names():
    content = decode_vcf((FIXTURES / "outlook_2.1_windows-1252.vcf").read_bytes())

    card = read_card(split_cards(content)[0])

    assert (card.contact["first_name"], card.contact["last_name"]) == ("François", "Lefèvre")
    assert card.jobs[0]["company"] == "Pomme Siège Central"
    assert card.contact["note"] == "Rencontré au salon à Lyon.\r\nPréfère le téléphone."


def test_a_card_naming_no_charset_and_not_utf8_is_read_as_windows_1252():
    raw = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Zoé\r\nEND:VCARD\r\n".encode("cp1252")

    assert "N:Müller;Zoé" in decode_vcf(raw)


def test_each_card_is_read_in_its_own_charset():
    utf8 = "BEGIN:VCARD\r\nN:Siège;Zoé\r\nEND:VCARD\r\n".encode()
    latin = "BEGIN:VCARD\r\nN;CHARSET=ISO-8859-15:Lefèvre;€\r\nEND:VCARD\r\n".encode("iso-8859-15")

    content = decode_vcf(utf8 + latin)

    assert "N:Siège;Zoé" in content and "Lefèvre;€" in content


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_a_byte_order_mark_says_the_charset(bom):
    charset = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}
    raw = bom + "BEGIN:VCARD\r\nN:Siège;Zoé\r\nEND:VCARD\r\n".encode(charset[bom])

    assert decode_vcf(raw).startswith("BEGIN:VCARD\r\nN:Siège;Zoé")


@pytest.mark.parametrize("charset", ["UTF-7", "ISO-2022-JP", "HZ-GB-2312", "UTF-16"])
def test_a_card_in_a_charset_that_can_hide_markup_is_refused_alone(charset):
    raw = (
        b"BEGIN:VCARD\r\nN:Ok;Zo\xe9\r\nEND:VCARD\r\n"
        + f"BEGIN:VCARD\r\nN;CHARSET={charset}:Zo\xe9\r\nEND:VCARD\r\n".encode("latin-1")
    )

    first, second = split_cards(decode_vcf(raw))

    assert read_card(first).contact["first_name"] == "Zoé"
    with pytest.raises(InvalidInput) as refused:
        read_card(second)
    assert f"CHARSET={charset} is refused" in refused.value.detail


def test_a_card_in_an_unknown_charset_is_refused_alone_naming_it():
    raw = b"BEGIN:VCARD\r\nN:Ok\r\nEND:VCARD\r\nBEGIN:VCARD\r\nN;CHARSET=klingon:Z\xe9\r\nEND:VCARD\r\n"

    first, second = split_cards(decode_vcf(raw))

    with pytest.raises(InvalidInput) as refused:
        read_card(second)
    assert "CHARSET=klingon is not a charset we know" in refused.value.detail


def test_bytes_that_are_not_of_the_charset_a_card_names_are_refused_naming_the_card():
    raw = b"BEGIN:VCARD\r\nN:Ok\r\nEND:VCARD\r\nBEGIN:VCARD\r\nN;CHARSET=ascii:Z\xe9\r\nEND:VCARD\r\n"

    with pytest.raises(InvalidInput) as refused:
        decode_vcf(raw)

    assert "card 2: byte" in refused.value.detail
