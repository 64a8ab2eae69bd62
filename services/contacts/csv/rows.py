"""Checking CSV rows before an import writes them.

A row is checked in full before anything is written: every cell against the
same rules as the API, phones parsed, a company for employment details. A row
that fails is reported (row, column, reason) and writes nothing; the others go on.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from crm.errors import InvalidInput
from services.contacts import phones
from services.contacts.csv.format import Record, unescape_formula
from services.contacts.csv.headers import Column
from services.contacts.csv.presets import alternatives, preset_for
from services.contacts.schemas import (
    InterestName,
    Latitude,
    Longitude,
    OptionalDay,
    OptionalEmail,
    OptionalLongText,
    OptionalPhone,
    OptionalPostalCode,
    OptionalText,
    OptionalWebsite,
)

log = logging.getLogger(__name__)


def _decimal_point(value: Any) -> Any:
    """A cell's number as French spreadsheets write it too ("48,8566"); blank is no value."""
    if isinstance(value, str):
        return value.strip().replace(",", ".") or None
    return value


_CellLatitude = Annotated[Latitude | None, BeforeValidator(_decimal_point)]
_CellLongitude = Annotated[Longitude | None, BeforeValidator(_decimal_point)]

_RULES: dict[str, Any] = {
    "first_name": OptionalText,
    "last_name": OptionalText,
    "email": OptionalEmail,
    "phone": OptionalPhone,
    "mobile": OptionalPhone,
    "street": OptionalText,
    "postal_code": OptionalPostalCode,
    "city": OptionalText,
    "country": OptionalText,
    "note": OptionalLongText,
    "interests": Annotated[list[InterestName], Field(max_length=100)],
    "company": OptionalText,
    "group": OptionalText,
    "function": OptionalText,
    "work_email": OptionalEmail,
    "work_phone": OptionalPhone,
    "work_mobile": OptionalPhone,
    "linkedin": OptionalText,
    "facebook": OptionalText,
    "x": OptionalText,
    "viadeo": OptionalText,
    "birthday": OptionalDay,
    "website": OptionalWebsite,
    "latitude": _CellLatitude,
    "longitude": _CellLongitude,
}
_ADAPTERS = {name: TypeAdapter(rule) for name, rule in _RULES.items()}
PHONE_FIELDS = ("phone", "mobile", "work_phone", "work_mobile")
EMPLOYMENT_FIELDS = ("function", "work_email", "work_phone", "work_mobile")
ADDRESS_FIELDS = ("street", "postal_code", "city", "country")
SOCIAL_FIELDS = ("linkedin", "facebook", "x", "viadeo")
_INTEREST_SEPARATORS = re.compile(r"[,;|\n]")
_SURROGATES = re.compile("[\udc80-\udcff]")
VALUE_SHOWN = 200


@dataclass(frozen=True)
class RowProblem:
    """Why a row was refused: its row (the header is row 1), line, column as written, reason."""

    row: int
    line: int
    column: str | None
    field: str | None
    value: str | None
    reason: str


@dataclass(frozen=True)
class RowPlan:
    """A row that passed every check: its values by field (None: empty cell) and phones in E.164."""

    row: int
    line: int
    values: dict[str, Any]
    e164: dict[str, str | None]

    @property
    def email(self) -> str | None:
        return self.values["email"]

    @property
    def work_email(self) -> str | None:
        return self.values["work_email"]


def _shown(value: str) -> str:
    return _SURROGATES.sub("\ufffd", value)[:VALUE_SHOWN]


# Single-line fields: a line break from a spreadsheet cell becomes a separator, tabs spaces.
_LINE_BREAKS = re.compile(r"\s*(?:\r\n|\r|\n)\s*")
_MULTI_LINE_FIELDS = ("note", "interests")


def _one_line(field_name: str, value: str) -> str:
    if field_name in _MULTI_LINE_FIELDS:
        return value
    joined = _LINE_BREAKS.sub(", " if field_name == "street" else " ", value.strip())
    return joined.replace("\t", " ")


# Google joins several values of one cell with " ::: "; its own groups start with "* " (* myContacts).
GOOGLE_VALUES = " ::: "


def first_or_all(field_name: str, cell: str) -> str:
    """A Google multi-value cell as one value: every interest but Google's own groups, else the first.

    The values after the first go where the contact has room (``place_extras``).
    """
    if GOOGLE_VALUES not in cell:
        return cell
    values = [value.strip() for value in cell.split(GOOGLE_VALUES)]
    if field_name == "interests":
        return "\n".join(value for value in values if value and not value.startswith("* "))
    return values[0]


# Where a second value of a multi-value cell has room when its own field is taken; an employment
# field only on a row with a company.
_ROOM_FOR_MORE = {
    "email": ("work_email",),
    "phone": ("mobile", "work_phone"),
    "mobile": ("phone", "work_mobile"),
    "work_phone": ("work_mobile",),
    "work_email": ("email",),
}
# On a row without a company, the employment's values of a preset's file go to the contact's own
# field when it is empty (Outlook's E-mail 2 Address, Business Phone), else they are not kept.
_OWN_FIELD = {"work_email": "email", "work_phone": "phone", "work_mobile": "mobile"}


def place_extras(raw: dict[str, str], field_name: str, cell: str) -> list[str]:
    """Put the values of a multi-value cell after the first in the free fields that have room;
    returns those fields.

    Values for which no field has room are not kept (the contact has one e-mail, two phones).
    """
    placed: list[str] = []
    if field_name == "interests" or GOOGLE_VALUES not in cell:
        return placed
    for value in [value.strip() for value in cell.split(GOOGLE_VALUES)][1:]:
        for room in _ROOM_FOR_MORE.get(field_name, ()):
            if value and not raw.get(room) and (room not in EMPLOYMENT_FIELDS or raw.get("company")):
                raw[room] = value
                placed.append(room)
                break
    return placed


# Outlook writes the day in the machine's short date format, "0/0/00" for none; Google writes ISO.
_SLASHED_DAY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_MONTH_FIRST_REGIONS = ("US", "CA", "PH")


def day_text(cell: str, region: str) -> str:
    """A birthday as YYYY-MM-DD: "14/07/1975" (month first in the US, or when the day is over 12).

    Outlook's "0/0/00" and Google's days without a year ("--07-14") have no place: empty.
    """
    cell = cell.strip()
    if cell in ("0/0/00", "0/0/0000") or cell.startswith("--"):
        return ""
    found = _SLASHED_DAY.match(cell)
    if found is None:
        return cell
    first, second, year = (int(part) for part in found.groups())
    month_first = second > 12 or (first <= 12 and region in _MONTH_FIRST_REGIONS)
    day, month = (second, first) if month_first else (first, second)
    return f"{year:04d}-{month:02d}-{day:02d}"


def _reason(field_name: str, error: dict[str, Any]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "string_pattern_mismatch":
        if field_name in PHONE_FIELDS:
            return "not a phone number (digits, spaces, + ( ) . / - only)"
        return "holds control characters that are not allowed here"
    if message.startswith("value is not a valid email address: "):
        return "not a valid e-mail address: " + message.removeprefix("value is not a valid email address: ")
    return message.removeprefix("Value error, ")


def merged(cells: dict[str, list[tuple[int, str]]]) -> dict[str, str]:
    """One cell per field from the (rank, cell) of each column feeding it.

    The address is taken whole from the first block (rank) that has a part, so a street is never
    paired with another block's city; the cells of other fields are joined, first rank first, by
    ``" ::: "``, so the values after the first go where the contact has room (``place_extras``).
    """
    ranked = {
        name: [cell for _, cell in sorted(found, key=lambda pair: pair[0])] for name, found in cells.items()
    }
    blocks = max((len(ranked.get(name, ())) for name in ADDRESS_FIELDS), default=0)
    if blocks > 1:
        chosen = next(
            (
                block
                for block in range(blocks)
                if any(
                    block < len(ranked.get(name, ())) and ranked[name][block].strip()
                    for name in ADDRESS_FIELDS
                )
            ),
            0,
        )
        for name in ADDRESS_FIELDS:
            if name in ranked:
                ranked[name] = [ranked[name][chosen] if chosen < len(ranked[name]) else ""]
    return {
        name: GOOGLE_VALUES.join(cell.strip() for cell in found if cell.strip())
        if len(found) > 1
        else found[0]
        for name, found in ranked.items()
    }


class RowChecker:
    """Checks the records of one file against the columns its header maps."""

    def __init__(self, columns: list[Column], region: str, encoding: str):
        self.width = len(columns)
        self.preset = preset_for([column.header for column in columns])
        shared = alternatives(self.preset)
        self.columns = [column for column in columns if column.field is not None]
        # Among the columns a preset feeds one field from, the first it names is preferred (rank 0).
        self.rank = {
            column.index: shared[column.field].index(column.header.strip())
            if column.header.strip() in shared.get(column.field, ())
            else 0
            for column in self.columns
        }
        self.header_of: dict[str, str] = {}
        for column in sorted(self.columns, key=lambda column: self.rank[column.index]):
            self.header_of.setdefault(column.field, column.header)
        self.region = region
        self.encoding = encoding

    def problem(self, record: Record, field: str | None, value: str | None, reason: str) -> RowProblem:
        column = self.header_of.get(field) if field else None
        return RowProblem(record.row, record.line, column, field, _shown(value) if value else None, reason)

    def check(self, record: Record) -> RowPlan | list[RowProblem]:
        if record.problem is not None:
            index = record.problem_column
            column = next((c for c in self.columns if c.index == index), None)
            header = column.header if column else None
            return [
                RowProblem(
                    record.row, record.line, header, column.field if column else None, None, record.problem
                )
            ]
        problems: list[RowProblem] = []
        raw: dict[str, str] = {}
        several: dict[str, str] = {}
        cells: dict[str, list[tuple[int, str]]] = {}
        for column in self.columns:
            cell = record.cells[column.index] if column.index < len(record.cells) else ""
            if _SURROGATES.search(cell):
                problems.append(
                    self.problem(
                        record,
                        column.field,
                        cell,
                        f"holds bytes that are not {self.encoding} text (the file mixes encodings); "
                        "save it again as CSV UTF-8",
                    )
                )
                continue
            if "\x00" in cell:
                problems.append(
                    self.problem(
                        record, column.field, cell.replace("\x00", ""), "holds the NUL character (U+0000)"
                    )
                )
                continue
            cell = unicodedata.normalize("NFC", unescape_formula(cell))
            cells.setdefault(column.field, []).append((self.rank[column.index], cell))
        for field_name, cell in merged(cells).items():
            if GOOGLE_VALUES in cell:
                several[field_name] = cell
            raw[field_name] = _one_line(field_name, first_or_all(field_name, cell))
            if field_name == "birthday":
                raw["birthday"] = day_text(raw["birthday"], self.region)
        placed: list[str] = []
        if self.preset is not None and not raw.get("company", "").strip():
            for work, own in _OWN_FIELD.items():
                value = raw.pop(work, "")
                if value.strip() and not raw.get(own, "").strip():
                    raw[own] = value
                    placed.append(own)
        placed += [room for name, cell in several.items() for room in place_extras(raw, name, cell)]
        if any(cell.strip() for cell in record.cells[self.width :]):
            problems.append(
                RowProblem(
                    record.row,
                    record.line,
                    None,
                    None,
                    None,
                    f"the row has {len(record.cells)} cells but the header has {self.width} columns",
                )
            )
        values = self._values(record, raw, problems)
        e164 = self._phones(record, values, problems)
        for problem in [problem for problem in problems if problem.field in placed]:
            # A second value that does not pass is not kept; the row goes on with the first.
            problems.remove(problem)
            values[problem.field] = None
        if (values["latitude"] is None) != (values["longitude"] is None) and not any(
            problem.field in ("latitude", "longitude") for problem in problems
        ):
            given, missing = (
                ("latitude", "longitude") if values["longitude"] is None else ("longitude", "latitude")
            )
            problems.append(
                self.problem(record, given, raw[given], f"a position needs a {missing} too, on the same row")
            )
        if not values["company"]:
            given = [name for name in EMPLOYMENT_FIELDS if values[name]]
            if given:
                problems.append(
                    self.problem(
                        record,
                        given[0],
                        str(values[given[0]]),
                        "an employment detail needs a company on the same row",
                    )
                )
        if problems:
            return problems
        return RowPlan(record.row, record.line, values, e164)

    def _values(self, record: Record, raw: dict[str, str], problems: list[RowProblem]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, adapter in _ADAPTERS.items():
            if name not in raw:
                values[name] = [] if name == "interests" else None
                continue
            given: Any = raw[name]
            if name == "interests":
                given = [part.strip() for part in _INTEREST_SEPARATORS.split(given) if part.strip()]
            try:
                values[name] = adapter.validate_python(given)
            except ValidationError as exc:
                values[name] = [] if name == "interests" else None
                problems.append(self.problem(record, name, raw[name], _reason(name, exc.errors()[0])))
        return values

    def _phones(
        self, record: Record, values: dict[str, Any], problems: list[RowProblem]
    ) -> dict[str, str | None]:
        e164: dict[str, str | None] = {}
        for name in PHONE_FIELDS:
            try:
                e164[name] = phones.normalise(values[name], self.region, name)
            except InvalidInput as exc:
                e164[name] = None
                problems.append(self.problem(record, name, values[name], exc.errors[0]["message"]))
        return e164
