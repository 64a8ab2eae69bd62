"""The layouts Google Contacts, Outlook and LinkedIn export, recognised from their headers.

Each preset maps the source's column names onto our fields; a column of a
recognised layout that is not in its preset feeds nothing and is listed as
ignored (``field: null``) in the job's columns. A contact has one personal
e-mail, phone, mobile and address, and its employment (on a row with a company)
one e-mail and phone: a second e-mail or a business phone feeds the
employment, and on a row without a company the contact's own field when it is
empty. Where a preset feeds one field from several columns (``alternatives``),
the first column that has a value wins and the others' values go where the
contact has room, as the values after the first of a Google ``" ::: "`` cell;
the address is taken whole from the first block that has a part (Outlook's
Home address, else its Business one). Birthdays are read as Outlook (its short
date) and Google (ISO) write them.
"""

from __future__ import annotations

# Google's current export ("Google CSV", since 2023).
_GOOGLE = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Organization Name": "company",
    "Organization Title": "function",
    "Notes": "note",
    "Labels": "interests",
    "Birthday": "birthday",
    "Website 1 - Value": "website",
    "E-mail 1 - Value": "email",
    "E-mail 2 - Value": "work_email",
    "Phone 1 - Value": "phone",
    "Phone 2 - Value": "mobile",
    "Phone 3 - Value": "work_phone",
    "Address 1 - Street": "street",
    "Address 1 - City": "city",
    "Address 1 - Postal Code": "postal_code",
    "Address 1 - Country": "country",
}
# Google's export before 2023: cells hold several values joined by " ::: ".
_GOOGLE_LEGACY = {
    "Given Name": "first_name",
    "Family Name": "last_name",
    "Organization 1 - Name": "company",
    "Organization 1 - Title": "function",
    "Notes": "note",
    "Group Membership": "interests",
    "Birthday": "birthday",
    "Website 1 - Value": "website",
    "E-mail 1 - Value": "email",
    "E-mail 2 - Value": "work_email",
    "Phone 1 - Value": "phone",
    "Phone 2 - Value": "mobile",
    "Phone 3 - Value": "work_phone",
    "Address 1 - Street": "street",
    "Address 1 - City": "city",
    "Address 1 - Postal Code": "postal_code",
    "Address 1 - Country": "country",
}
# Outlook's "Title" is the honorific (Mr., Mme): ignored; "Job Title" is the function.
_OUTLOOK = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Company": "company",
    "Job Title": "function",
    "Home Street": "street",
    "Home City": "city",
    "Home Postal Code": "postal_code",
    "Home Country/Region": "country",
    "Business Street": "street",
    "Business City": "city",
    "Business Postal Code": "postal_code",
    "Business Country/Region": "country",
    "Home Phone": "phone",
    "Mobile Phone": "mobile",
    "Business Phone": "work_phone",
    "E-mail Address": "email",
    "E-mail 2 Address": "work_email",
    "E-mail 3 Address": "work_email",
    "Categories": "interests",
    "Notes": "note",
    "Birthday": "birthday",
    "Web Page": "website",
}
# LinkedIn's Connections.csv (data export).
_LINKEDIN = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "URL": "linkedin",
    "Email Address": "email",
    "Company": "company",
    "Position": "function",
}

PRESETS: dict[str, dict[str, str]] = {
    "google": _GOOGLE,
    "google_legacy": _GOOGLE_LEGACY,
    "outlook": _OUTLOOK,
    "linkedin": _LINKEDIN,
}
# Headers only that source writes, all of which a file must have to be taken for it.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "google": ("First Name", "Organization Name", "E-mail 1 - Value", "Labels"),
    "google_legacy": ("Given Name", "Family Name", "Group Membership", "E-mail 1 - Value"),
    "outlook": ("Title", "Job Title", "E-mail Address", "Home Street", "Business Street"),
    "linkedin": ("First Name", "Last Name", "URL", "Connected On"),
}


def preset_for(headers: list[str]) -> str | None:
    """The source whose layout ``headers`` are, if any."""
    present = {header.strip() for header in headers}
    for name, signature in _SIGNATURES.items():
        if present.issuperset(signature):
            return name
    return None


def alternatives(name: str | None) -> dict[str, list[str]]:
    """The fields preset ``name`` feeds from several columns: field -> its headers, first preferred."""
    feeding: dict[str, list[str]] = {}
    for header, field in PRESETS.get(name or "", {}).items():
        feeding.setdefault(field, []).append(header)
    return {field: headers for field, headers in feeding.items() if len(headers) > 1}


def preset_fields(name: str, headers: list[str]) -> list[str | None]:
    """The field each column feeds under preset ``name``; None for a column it ignores."""
    mapping = PRESETS[name]
    return [mapping.get(header.strip()) for header in headers]
