"""Reading CSV files as spreadsheets write them, and writing them for French Excel."""

from __future__ import annotations

import codecs

import pytest

from crm.errors import InvalidInput
from services.contacts.csv.format import (
    detect_delimiter,
    detect_encoding,
    escape_formula,
    first_record_text,
    read_records,
    reading_encoding,
    unescape_formula,
    write_rows,
)

FRENCH = "Nom;Prénom;Société\r\nLefèvre;François;Œuvres & Cœur, 120 €\r\n"


def _rows(text: str, delimiter: str = ";", columns: int | None = None) -> list[tuple]:
    found = read_records(text.encode(), "utf-8", delimiter, columns)
    return [(r.row, r.line, r.cells, r.problem, r.problem_column) for r in found]


# -- encoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF8 + FRENCH.encode(), "utf-8-sig"),
        (FRENCH.encode(), "utf-8"),
        (FRENCH.encode("utf-16"), "utf-16"),
        (FRENCH.encode("cp1252"), "windows-1252"),
        (FRENCH.encode("iso8859_15"), "iso-8859-15"),
        (b"Nom;Email\r\nDupont;jeanne@exemple.fr\r\n", "utf-8"),
    ],
)
def test_the_encoding_is_detected(content, encoding):
    assert detect_encoding(content) == encoding


def test_a_mostly_utf8_file_with_a_stray_latin_row_reads_as_utf8():
    content = FRENCH.encode() * 3 + "Blanc;Grégoire;Café\r\n".encode("cp1252")

    assert detect_encoding(content) == "utf-8"


def test_a_binary_file_is_refused():
    with pytest.raises(InvalidInput, match="not a text file"):
        detect_encoding(b"PK\x03\x04\x14\x00\x00\x00\x08\x00")


def test_a_stray_byte_is_flagged_on_its_own_cell():
    content = "Nom;Prénom\r\nBlanc;".encode() + b"Gr\xe9goire\r\n"

    _, record = read_records(content, "utf-8", ";")

    assert record.bad_bytes_column() == 1


# -- delimiter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("Nom;Prénom;Email\r\n", ";"),
        ("Nom,Prénom,Email\n", ","),
        ("Nom\tPrénom\tEmail\n", "\t"),
        ('"Nom, usage";Prénom;Email\n', ";"),
        ('"Nom; usage",Prénom,Email\n', ","),
        ("Email\n", ","),
    ],
)
def test_the_delimiter_is_the_one_found_most_outside_quotes(header, delimiter):
    assert detect_delimiter(header) == delimiter


def test_the_header_record_may_span_lines_inside_quotes():
    content = '"Nom\nde famille";Prénom\r\nDupont;Jeanne\r\n'.encode()

    assert first_record_text(content, "utf-8") == '"Nom\nde famille";Prénom\r\n'


# -- records -------------------------------------------------------------------------


def test_records_carry_their_spreadsheet_row_and_first_line():
    text = 'Nom;Note\r\nDupont;"deux\r\nlignes"\r\n\r\nMartin;"a; b ""c"""\r\n'

    assert _rows(text) == [
        (1, 1, ["Nom", "Note"], None, None),
        (2, 2, ["Dupont", "deux\r\nlignes"], None, None),
        (4, 5, ["Martin", 'a; b "c"'], None, None),
    ]


def test_an_unclosed_quote_at_the_end_fails_one_record_and_the_lines_it_took_are_read_again():
    text = 'Nom;Prénom;Email\nDurand;"Paul;paul@exemple.fr\nMartin;Zoé;zoe@exemple.fr\n'

    rows = _rows(text, columns=3)

    assert rows[1][:2] == (2, 2) and rows[1][3].endswith("never closed") and rows[1][4] == 1
    assert rows[2] == (3, 3, ["Martin", "Zoé", "zoe@exemple.fr"], None, None)


def test_a_quote_swallowing_whole_records_is_noticed_before_the_file_ends():
    text = (
        'Nom;Prénom;Email\nDurand;"Paul;p@exemple.fr\nMartin;Zoé;z@exemple.fr\nPetit;"Louis";l@exemple.fr\n'
    )

    rows = _rows(text, columns=3)

    assert [row[:2] for row in rows] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert rows[1][3] is not None and rows[1][4] == 1
    assert rows[3][2] == ["Petit", "Louis", "l@exemple.fr"]


def test_a_legitimate_multi_line_note_is_not_taken_for_an_unclosed_quote():
    text = 'Nom;Prénom;Note\nDurand;Paul;"Code porte: 1234\nEscalier B; 2e"\nMartin;Zoé;\n'

    rows = _rows(text, columns=3)

    assert [row[3] for row in rows] == [None, None, None]


def test_text_after_a_closing_quote_names_its_column():
    rows = _rows('Nom;Prénom\nDurand;"Paul" junior\nMartin;Zoé\n')

    assert rows[1][3].startswith("malformed CSV: text after a closing quote") and rows[1][4] == 1
    assert rows[2][2] == ["Martin", "Zoé"]


# -- writing -------------------------------------------------------------------------


def test_rows_are_written_for_french_excel():
    text = write_rows([["Nom", "Note"], ["Lefèvre", 'Dit "Fanfan"; rappeler\nlundi']])

    assert text == 'Nom;Note\r\nLefèvre;"Dit ""Fanfan""; rappeler\nlundi"\r\n'


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3"])
def test_a_cell_that_looks_like_a_formula_is_written_as_text_and_read_back_as_it_was(cell):
    assert escape_formula(cell) == "'" + cell
    assert unescape_formula(escape_formula(cell)) == cell


@pytest.mark.parametrize("cell", ["+33 6 12 34 56 78", "-", "Jeanne", "'quoted"])
def test_phone_numbers_and_plain_text_are_written_as_they_are(cell):
    assert escape_formula(cell) == cell
    assert unescape_formula(cell) == cell


@pytest.mark.parametrize(("codec", "encoding"), [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_utf16_without_a_byte_order_mark_is_detected_and_read(codec, encoding):
    content = (FRENCH * 3).encode(codec)

    assert detect_encoding(content) == encoding
    assert first_record_text(content, encoding) == "Nom;Prénom;Société\r\n"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
def test_utf16_named_by_the_caller_reads_with_or_without_a_byte_order_mark(codec):
    content = FRENCH.encode(codec)

    encoding = reading_encoding(content, "utf-16")

    assert first_record_text(content, encoding).lstrip("\ufeff") == "Nom;Prénom;Société\r\n"


def test_utf16_named_for_a_file_that_is_not_utf16_is_refused_naming_encoding():
    with pytest.raises(InvalidInput) as raised:
        reading_encoding(FRENCH.encode(), "utf-16")

    assert [error["field"] for error in raised.value.errors] == ["encoding"]


def test_a_binary_file_with_nul_bytes_on_both_sides_is_still_refused():
    with pytest.raises(InvalidInput, match="not a text file"):
        detect_encoding(bytes(range(256)) * 8)
