"""The layouts Google Contacts, Outlook and LinkedIn export, recognised from their headers.

Each preset maps the source's column names onto our fields; a column of a
recognised layout that is not in its preset feeds nothing and is listed as
ignored (``field: null``) in the job's columns. Only the first of several
e-mails, phones or addresses has a place on a contact: the others are listed
as ignored rather than guessed into the employment, which needs a company.
Birthdays are read as Outlook (its short date) and Google (ISO) write them.
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
    "Phone 1 - Value": "phone",
    "Phone 2 - Value": "mobile",
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
    "Phone 1 - Value": "phone",
    "Phone 2 - Value": "mobile",
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
    "Home Phone": "phone",
    "Mobile Phone": "mobile",
    "E-mail Address": "email",
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


def preset_fields(name: str, headers: list[str]) -> list[str | None]:
    """The field each column feeds under preset ``name``; None for a column it ignores."""
    mapping = PRESETS[name]
    return [mapping.get(header.strip()) for header in headers]
