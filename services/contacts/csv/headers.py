"""CSV column headers: which contact field each column of a file feeds.

Headers are recognised in French and English, whatever their case, accents,
spaces or punctuation ("Code postal", "CODE-POSTAL" and "code_postal" are one
header). An explicit mapping from the caller wins over recognition; a column
mapped to nothing is ignored. Exports write the same headers, so a file the CRM
exported reads back as it was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from crm.errors import InvalidInput, field_error
from services.contacts.csv.presets import alternatives, preset_fields, preset_for

# The fields an import can fill, in the order exports write them.
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "street",
    "postal_code",
    "city",
    "country",
    "note",
    "interests",
    "company",
    "group",
    "function",
    "work_email",
    "work_phone",
    "work_mobile",
    "linkedin",
    "facebook",
    "x",
    "viadeo",
    "birthday",
    "website",
    "latitude",
    "longitude",
)
# At least one of these must be a column: a contact is found by e-mail or created with a name.
IDENTIFYING_FIELDS = ("first_name", "last_name", "email", "work_email")

# The header exports write, per language; also recognised on import.
LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "Email",
        "phone": "Téléphone",
        "mobile": "Portable",
        "street": "Adresse",
        "postal_code": "Code postal",
        "city": "Ville",
        "country": "Pays",
        "note": "Note",
        "interests": "Centres d'intérêt",
        "company": "Société",
        "group": "Groupe",
        "function": "Fonction",
        "work_email": "Email professionnel",
        "work_phone": "Téléphone professionnel",
        "work_mobile": "Portable professionnel",
        "linkedin": "LinkedIn",
        "facebook": "Facebook",
        "x": "X",
        "viadeo": "Viadeo",
        "birthday": "Date de naissance",
        "website": "Site web",
        "latitude": "Latitude",
        "longitude": "Longitude",
    },
    "en": {
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "phone": "Phone",
        "mobile": "Mobile",
        "street": "Address",
        "postal_code": "Postal code",
        "city": "City",
        "country": "Country",
        "note": "Note",
        "interests": "Interests",
        "company": "Company",
        "group": "Group",
        "function": "Job title",
        "work_email": "Work email",
        "work_phone": "Work phone",
        "work_mobile": "Work mobile",
        "linkedin": "LinkedIn",
        "facebook": "Facebook",
        "x": "X",
        "viadeo": "Viadeo",
        "birthday": "Birthday",
        "website": "Website",
        "latitude": "Latitude",
        "longitude": "Longitude",
    },
}

# Other names met in French and English files (spreadsheets, Outlook, other CRMs).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("Prenom", "Firstname", "Given name", "Forename"),
    "last_name": ("Nom de famille", "Lastname", "Surname", "Family name"),
    "email": (
        "E-mail",
        "Courriel",
        "Mail",
        "Adresse e-mail",
        "Adresse mail",
        "Email personnel",
        "Courriel personnel",
        "Email address",
        "Personal email",
    ),
    "phone": (
        "Tel",
        "Tél.",
        "Téléphone fixe",
        "Téléphone personnel",
        "Téléphone domicile",
        "Telephone",
        "Phone number",
        "Home phone",
        "Personal phone",
    ),
    "mobile": (
        "Mobile",
        "Téléphone portable",
        "Tél. portable",
        "Portable personnel",
        "GSM",
        "Cellulaire",
        "Mobile phone",
        "Cell phone",
        "Cell",
    ),
    "street": ("Rue", "Adresse postale", "Street", "Street address"),
    "postal_code": ("CP", "Postcode", "Zip", "Zip code"),
    "city": ("Commune", "Town"),
    "note": ("Notes", "Commentaire", "Commentaires", "Remarque", "Remarques", "Comment", "Comments"),
    "interests": ("Centre d'intérêt", "Intérêts", "Intérêt", "Interest"),
    "company": (
        "Entreprise",
        "Organisation",
        "Raison sociale",
        "Employeur",
        "Organization",
        "Company name",
        "Employer",
    ),
    "group": ("Company group",),
    "function": ("Poste", "Titre", "Intitulé de poste", "Function", "Title", "Position", "Role"),
    "work_email": (
        "E-mail professionnel",
        "Courriel professionnel",
        "Email pro",
        "Mail pro",
        "Business email",
        "Professional email",
    ),
    "work_phone": (
        "Téléphone pro",
        "Tél. pro",
        "Tel pro",
        "Business phone",
        "Office phone",
        "Professional phone",
    ),
    "work_mobile": ("Mobile professionnel", "Portable pro", "Business mobile", "Professional mobile"),
    "x": ("Twitter",),
    "birthday": ("Anniversaire", "Date d'anniversaire", "Naissance", "Birth date", "Date of birth"),
    "website": ("Site internet", "Site Web", "Web", "Web page", "Web site", "URL"),
    "latitude": ("Lat",),
    "longitude": ("Lon", "Lng", "Long"),
}


def header_key(header: str) -> str:
    """Letters and digits only, lower-cased, accents removed: "Centres d'intérêt" -> "centresdinteret"."""
    decomposed = unicodedata.normalize("NFKD", header)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[\W_]+", "", bare.casefold())


def _known_headers() -> dict[str, str]:
    known: dict[str, str] = {}
    for labels in LABELS.values():
        for field, label in labels.items():
            known[header_key(label)] = field
    for field, names in _SYNONYMS.items():
        for name in names:
            known.setdefault(header_key(name), field)
    return known


KNOWN_HEADERS = _known_headers()


@dataclass(frozen=True)
class Column:
    """A column of the file: its header as written, and the field it feeds (None: ignored)."""

    index: int
    header: str
    field: str | None


def resolve_columns(headers: list[str], mapping: dict[str, str | None] | None = None) -> list[Column]:
    """The field each column feeds, from ``mapping`` first, else from its header.

    ``mapping`` keys are headers as written in the file (or differing only in
    case and accents); a value of None ignores the column. A file in a known
    layout (Google, Outlook, LinkedIn) is read by its preset: its other columns
    are ignored, not guessed from their names, and the columns it feeds one
    field from (Outlook's Home and Business addresses) may share it. A mapping naming no
    column, two columns feeding one field, or no column to find or name a
    contact by is ``InvalidInput``.
    """
    mapping = mapping or {}
    by_key: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        by_key.setdefault(header_key(header), []).append(index)
    chosen: dict[int, str | None] = {}
    errors = []
    for given, field in mapping.items():
        if field is not None and field not in FIELDS:
            errors.append(field_error(f"mapping.{given}", f"unknown field; one of {', '.join(FIELDS)}"))
            continue
        exact = [index for index, header in enumerate(headers) if header.strip() == given.strip()]
        matches = exact or by_key.get(header_key(given), [])
        if not matches:
            listed = ", ".join(repr(header) for header in headers)
            errors.append(field_error(f"mapping.{given}", f"no such column; the file's columns are {listed}"))
        for index in matches:
            chosen[index] = field
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
    preset = preset_for(headers)
    guessed = (
        preset_fields(preset, headers)
        if preset
        else [KNOWN_HEADERS.get(header_key(header)) for header in headers]
    )
    columns = [
        Column(index, header, chosen[index] if index in chosen else guessed[index])
        for index, header in enumerate(headers)
    ]
    shared = alternatives(preset)
    _check_columns(
        columns,
        lambda column: column.index not in chosen and column.header.strip() in shared.get(column.field, ()),
    )
    return columns


def _check_columns(columns: list[Column], may_share: Callable[[Column], bool]) -> None:
    feeding: dict[str, list[Column]] = {}
    for column in columns:
        if column.field is not None:
            feeding.setdefault(column.field, []).append(column)
    errors = [
        field_error(
            "columns",
            f"the columns {' and '.join(repr(c.header) for c in sharing)} both feed {field}; "
            "map one of them to null in the mapping",
        )
        for field, sharing in feeding.items()
        if len(sharing) > 1 and not all(may_share(column) for column in sharing)
    ]
    if not any(field in feeding for field in IDENTIFYING_FIELDS):
        found = ", ".join(repr(column.header) for column in columns) or "none"
        errors.append(
            field_error(
                "columns",
                "no column for a name or an e-mail (such as Nom, Prénom or Email); "
                f"the file's columns are {found}",
            )
        )
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
