"""CSV files as spreadsheets write them: encoding, delimiter, quoting, rows.

Reading finds the encoding (UTF-8 with or without BOM, UTF-16 with or without
BOM, Windows-1252 or ISO-8859-15) and the delimiter (``;``, ``,`` or tab), then
yields records with their spreadsheet row (the header is row 1) and the line
they start on. Quoted fields may hold delimiters, quotes (written twice) and
line breaks. A record that cannot be read (a stray or unclosed quote, bytes of
another encoding) is yielded with its problem, and reading goes on after it:
one bad line never takes the rest of the file with it.

Writing produces what French Excel opens as is: ``;`` between fields, CRLF
line ends; the caller encodes the text as UTF-8 with a BOM.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from charset_normalizer import from_bytes

from crm.errors import invalid

DELIMITERS = (";", ",", "\t")
# Names accepted for an explicit encoding, and what detection answers.
ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "windows-1252",
    "iso-8859-15",
    "iso-8859-1",
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
EXPORT_DELIMITER = ";"

_SURROGATE = re.compile("[\udc80-\udcff]")
# Printable in Windows-1252 (’ œ … €), control characters in ISO-8859-15.
_WINDOWS_ONLY = re.compile(rb"[\x80-\x9f]")
# € Š š Ž ž Œ œ Ÿ in ISO-8859-15, rare signs (¤ ¦ ¨ ´ ¸ ¼ ½ ¾) in Windows-1252.
_LATIN9_LETTERS = re.compile(rb"[\xa4\xa6\xa8\xb4\xb8\xbc-\xbe]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
# A cell starting like a formula is written behind a quote so that spreadsheets show it as text.
_FORMULA_START = ("=", "@", "\t", "\r")
_PHONE_LIKE = re.compile(r"^[+\-][0-9 ().\-/]*$")
# Excel's first line naming the delimiter; LinkedIn's "Notes:" block before the header.
_SEP_LINE = re.compile(r"^\ufeff?sep=.$")
_NOTES_LINE = "Notes:"
# Records looked at for a preamble before the header.
PREAMBLE_MAX = 20


@dataclass(frozen=True)
class Record:
    """One record of the file; ``problem`` says why it could not be read (then ``cells`` is empty)."""

    row: int
    line: int
    cells: list[str]
    problem: str | None = None
    problem_column: int | None = None

    def bad_bytes_column(self) -> int | None:
        """The first cell holding bytes the file's encoding cannot read, if any."""
        for index, cell in enumerate(self.cells):
            if _SURROGATE.search(cell):
                return index
        return None


# -- detection ----------------------------------------------------------------------


def detect_encoding(content: bytes) -> str:
    """The encoding to read ``content`` with; a binary or unreadable file is ``InvalidInput``.

    A file that is mostly UTF-8 with a few rows in another encoding reads as
    UTF-8: those rows are then refused one by one rather than garbling the rest.
    """
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if content.startswith(_UTF16_BOMS):
        return "utf-16"
    if b"\x00" in content:
        without_bom = _utf16_without_bom(content)
        if without_bom is not None:
            return without_bom
        raise invalid("content_base64", "not a text file (it holds NUL bytes); save the spreadsheet as CSV")
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = content.decode("utf-8", "surrogateescape")
    bad = len(_SURROGATE.findall(text))
    good = len(_NON_ASCII.findall(text)) - bad
    if good > bad:
        return "utf-8"
    best = from_bytes(content, cp_isolation=["cp1252", "iso8859_15"]).best()
    if best is None:
        raise invalid("content_base64", "cannot tell the file's encoding; save it as CSV UTF-8")
    # The two read most bytes alike; on a short file only the bytes they read apart can tell.
    if _WINDOWS_ONLY.search(content):
        return "windows-1252"
    if _LATIN9_LETTERS.search(content):
        return "iso-8859-15"
    return "iso-8859-15" if best.encoding == "iso8859_15" else "windows-1252"


def reading_encoding(content: bytes, named: str | None) -> str:
    """The encoding to read ``content`` with: the one the caller named, else the one detected.

    Python's "utf-16" needs a byte order mark; without one, the byte order is
    read from where the NUL bytes of the Latin letters fall.
    """
    if named is None:
        return detect_encoding(content)
    if named == "utf-16" and not content.startswith(_UTF16_BOMS):
        found = _utf16_without_bom(content)
        if found is None:
            raise invalid("encoding", "the file does not read as UTF-16 (no byte order mark, no UTF-16 text)")
        return found
    return named


def _utf16_without_bom(content: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" for UTF-16 text without a byte order mark, else None.

    A CSV file is mostly ASCII (digits, delimiters, e-mail addresses): in UTF-16
    each such character has a NUL byte, second (little endian, as Windows
    writes) or first (big endian). A binary file has NUL bytes on both sides.
    """
    sample = content[:8192]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    first_nul, second_nul = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if second_nul >= pairs * 0.3 and first_nul <= pairs * 0.02:
        return "utf-16-le"
    if first_nul >= pairs * 0.3 and second_nul <= pairs * 0.02:
        return "utf-16-be"
    return None


def first_record_text(content: bytes, encoding: str) -> str:
    """The text of the header record (up to the first line break outside quotes)."""
    stream = _text_stream(content, encoding)
    text = ""
    for line in stream:
        text += line
        if text.count('"') % 2 == 0:
            break
    return text


def detect_delimiter(header: str) -> str:
    """The delimiter found most often outside quotes in the header; ``;`` wins ties."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


# -- reading ------------------------------------------------------------------------


def _text_stream(content: bytes, encoding: str) -> io.TextIOWrapper:
    errors = "replace" if encoding.startswith("utf-16") else "surrogateescape"
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, errors=errors, newline="")


class _Lines:
    """The file's lines, numbered, with the ones a record took remembered so they can be read again."""

    def __init__(self, stream: Iterable[str]):
        self._stream = iter(stream)
        self._again: deque[tuple[int, str]] = deque()
        self._count = 0
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, text = self._again.popleft()
        else:
            text = next(self._stream)
            self._count += 1
            number = self._count
        self.taken.append((number, text))
        return text

    def read_again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))


def read_records(
    content: bytes, encoding: str, delimiter: str, columns: int | None = None
) -> Iterator[Record]:
    """Every record, the header first; blank records are skipped but keep their row number.

    ``columns`` (the header's width) lets a quote left open be noticed when the
    lines it swallowed look like records of their own.
    """
    lines = _Lines(_text_stream(content, encoding))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    row = 0
    while True:
        lines.taken = []
        try:
            cells = next(reader)
            problem = _swallowed_records(lines.taken, delimiter, columns) if len(lines.taken) > 1 else None
        except StopIteration:
            return
        except csv.Error as exc:
            problem = f"malformed CSV: {exc}"
        row += 1
        if problem is None:
            if any(cell.strip() for cell in cells):
                yield Record(row, lines.taken[0][0], cells)
            continue
        first_number, first_text = lines.taken[0]
        column, reason = _locate_quote_problem(first_text, delimiter)
        lines.read_again(lines.taken[1:])
        yield Record(row, first_number, [], reason or problem, column)


def _swallowed_records(taken: list[tuple[int, str]], delimiter: str, columns: int | None) -> str | None:
    """Why a record spanning several lines looks like an unclosed quote, or None if it looks fine."""
    if not columns or columns < 2:
        return None
    for _, text in taken[1:]:
        if text.count(delimiter) >= columns - 1:
            return "a quote opened here is never closed"
    return None


def _locate_quote_problem(text: str, delimiter: str) -> tuple[int | None, str | None]:
    """The column of the first quoting mistake on a line, and what it is."""
    column, quoted, field_start, index = 0, False, True, 0
    while index < len(text):
        char = text[index]
        if quoted:
            if char == '"':
                if text[index + 1 : index + 2] == '"':
                    index += 2
                    continue
                quoted = False
                if text[index + 1 : index + 2] not in (delimiter, "\r", "\n", ""):
                    return column, (
                        "malformed CSV: text after a closing quote "
                        '(a quote inside a quoted field is written twice: "")'
                    )
        elif char == delimiter:
            column, field_start, index = column + 1, True, index + 1
            continue
        elif char == '"' and field_start:
            quoted = True
        field_start = False
        index += 1
    if quoted:
        return column, "malformed CSV: a quote opened here is never closed"
    return None, None


def preamble_records(records: Iterable[Record], delimiter: str) -> int:
    """How many records come before the header: Excel's ``sep=;`` line, LinkedIn's "Notes:" block.

    LinkedIn's block is the "Notes:" line and one-cell lines up to the header.
    """
    leading = list(itertools.islice(records, PREAMBLE_MAX))
    skipped = 0
    if leading and leading[0].problem is None and _SEP_LINE.match(delimiter.join(leading[0].cells).strip()):
        skipped = 1
    filled = [[cell for cell in record.cells if cell.strip()] for record in leading]
    if skipped < len(leading) and [cell.strip() for cell in filled[skipped]] == [_NOTES_LINE]:
        skipped += 1
        while skipped < len(leading) - 1 and len(filled[skipped]) <= 1 and leading[skipped].problem is None:
            skipped += 1
    return skipped


# -- writing ------------------------------------------------------------------------


def escape_formula(cell: str) -> str:
    """Keep spreadsheets from running a cell as a formula (phone numbers stay as they are)."""
    if cell.startswith(_FORMULA_START) or (cell[:1] in ("+", "-") and not _PHONE_LIKE.match(cell)):
        return "'" + cell
    return cell


def unescape_formula(cell: str) -> str:
    """Undo ``escape_formula``, so a file the CRM exported reads back as it was."""
    if cell.startswith("'") and cell[1:2] in ("=", "@", "+", "-", "\t", "\r"):
        return cell[1:]
    return cell


def write_rows(rows: Iterable[list[str]], delimiter: str = EXPORT_DELIMITER) -> str:
    """Rows as CSV text for spreadsheets: ``;`` (or ``delimiter``) between fields, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape_formula(cell) for cell in row])
    return out.getvalue()
