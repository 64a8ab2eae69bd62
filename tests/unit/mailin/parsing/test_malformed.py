"""read_message on malformed mail (tests/mailin_malformed.py): it reads every one, keeps what can be
kept, and says in words what was wrong, so the user's pending interaction explains itself."""

from __future__ import annotations

import pytest

from services.mailin.parsing import read_message
from tests.mailin_malformed import (
    CORPUS,
    boundary_never_appears,
    eight_bit_headers,
    missing_boundary_parameter,
    ten_megabyte_header,
    ten_megabyte_line,
    thousand_parts,
    truncated_multipart,
    wrong_charset,
)


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_malformed_mail_is_read_with_its_sender_subject_and_problems(name):
    parsed = read_message(CORPUS[name]())

    assert parsed.problems, name
    assert parsed.sender is not None and parsed.sender.address.endswith("@pomme-siege-central.fr")
    assert parsed.subject
    assert parsed.message_key.endswith("@malformed.test")


def test_a_cut_multipart_keeps_its_text_and_the_part_of_the_attachment_that_arrived():
    parsed = read_message(truncated_multipart())

    assert parsed.text == "Bonjour, voici le devis."
    (attachment,) = parsed.attachments
    assert attachment.name == "devis.pdf" and attachment.content_type == "application/pdf"
    assert attachment.data.startswith(b"%PDF-1.4\n0 0 m 1 1 l S\n")
    assert "the message ends before its last part does (it may be cut short)" in parsed.problems


def test_text_in_a_charset_other_than_declared_or_an_unknown_one_is_read_and_said():
    parsed = read_message(wrong_charset())

    assert parsed.text == "Réunion à Besançon, café compris."
    assert parsed.html == "<p>Réunion à Besançon</p>"
    assert parsed.problems == [
        "the text was not valid utf-8; it was read as Windows-1252",
        "the text declared an unknown character set (x-unknown-klingon); it was read as Windows-1252",
    ]


@pytest.mark.parametrize("make", [missing_boundary_parameter, boundary_never_appears])
def test_parts_without_a_usable_boundary_are_shown_as_text(make):
    parsed = read_message(make())

    assert "Le texte." in parsed.text
    assert parsed.attachments == []
    assert "the message says it has parts but none could be found" in parsed.problems


def test_8_bit_headers_are_read_as_utf_8_or_windows_1252_and_said():
    parsed = read_message(eight_bit_headers())

    assert parsed.sender.name == "Hélène Gérard"  # Latin-1 bytes
    assert parsed.subject == "Réservation salle Été – confirmée"  # UTF-8 bytes
    assert parsed.text == "Réservée."
    assert parsed.problems == [
        "some headers carry 8-bit characters that are not UTF-8; they were read as Windows-1252"
    ]


def test_utf_8_headers_are_no_problem():
    name = "Hélène Gérard"
    raw = eight_bit_headers().replace(name.encode("latin-1"), name.encode())

    assert read_message(raw).problems == []


def test_a_thousand_parts_are_read_up_to_the_limit_and_the_rest_said():
    parsed = read_message(thousand_parts())

    assert parsed.text == "Mille pièces."
    # The message itself and its text part count among the 1,000 parts read.
    assert len(parsed.attachments) == 998
    assert [a.name for a in parsed.attachments[:2]] == ["part-0.bin", "part-1.bin"]
    assert parsed.problems == ["the message has more than 1,000 parts; only the first 1,000 were read"]


def test_a_10_mb_line_is_cut_to_the_text_limit():
    parsed = read_message(ten_megabyte_line())

    assert parsed.text == "a" * 1_000_000
    assert parsed.problems == ["the text is longer than 1,000,000 characters; the rest was left out"]


def test_a_10_mb_header_is_cut_and_the_others_read():
    parsed = read_message(ten_megabyte_header())

    assert parsed.subject == "Un en-tête énorme"
    assert parsed.text == "Le texte."
    assert parsed.problems == ["some headers of the message were too long and were cut"]
