"""The product's field mapping between a CRM contact and a Google person, and the conflict rule.

Both sides are read into one ``SharedView`` (what the sync carries); the view
of each side is compared with the fingerprint of the view both last agreed on,
so a change on either side shows, and an echo of our own write does not.

CRM to Google: the personal e-mail is Google's ``home`` e-mail, the current
employment's professional e-mail ``work``; phones by type (``home``,
``mobile``, ``work``, ``workMobile``); each current employment is an
organisation (company name, function); the note is the biography. Google to
the CRM: a company cannot be identified safely from Google's data, so the
professional details (organisations, work e-mail and phones) go into the
contact's note, under ``PROFESSIONAL_MARK``; read back from there when the
contact has no current employment, they travel again to Google unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple, dataclass, fields, replace
from datetime import datetime
from typing import Any

CRM_ID_KEY = "crm_contact_id"
PROFESSIONAL_MARK = "-- Google: professional details --"
# What an update to Google replaces (never memberships: the user's other labels stay).
UPDATE_FIELDS = ["names", "emailAddresses", "phoneNumbers", "organizations", "biographies", "clientData"]
_HOME_TYPES = ("home", "other", "", None)
_HOME_PHONE_TYPES = ("home", "main", "other", "", None)


@dataclass(frozen=True)
class Employment:
    company: str | None
    function: str | None
    email: str | None
    phone: str | None
    mobile: str | None
    updated_ms: int = 0


@dataclass(frozen=True)
class CrmContact:
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    mobile: str | None
    note: str | None
    version: int
    updated_ms: int
    employments: tuple[Employment, ...] = ()  # current ones
    deleted: bool = False

    @property
    def last_change_ms(self) -> int:
        return max([self.updated_ms, *(e.updated_ms for e in self.employments)])

    def emails(self) -> tuple[list[str], list[str]]:
        """(personal, professional) e-mails, lower-cased."""
        personal = [self.email.lower()] if self.email else []
        return personal, [e.email.lower() for e in self.employments if e.email]


@dataclass(frozen=True)
class SharedView:
    """A contact as both sides hold it; None for what is not there."""

    given: str | None = None
    family: str | None = None
    home_email: str | None = None
    work_email: str | None = None
    home_phone: str | None = None
    mobile: str | None = None
    work_phone: str | None = None
    work_mobile: str | None = None
    organizations: tuple[tuple[str | None, str | None], ...] = ()
    biography: str | None = None

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps(astuple(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SharedView:
        values = json.loads(text)
        values[8] = tuple(tuple(pair) for pair in values[8])
        return cls(*values)

    def filled_from(self, other: SharedView) -> SharedView:
        """This view, with what it lacks taken from ``other`` (two records first linked)."""
        return replace(
            self, **{f.name: getattr(other, f.name) for f in fields(self) if not getattr(self, f.name)}
        )

    def differences(self, other: SharedView) -> list[str]:
        """The names of the fields that differ, for the log."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    @property
    def has_professional_details(self) -> bool:
        return bool(self.organizations or self.work_email or self.work_phone or self.work_mobile)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _email(value: Any) -> str | None:
    value = _text(value)
    return value.lower() if value else None


# -- the CRM side --------------------------------------------------------------------------------------


def view_of_contact(contact: CrmContact) -> SharedView:
    biography, professional = split_note(contact.note)
    if contact.employments:
        works = contact.employments
        professional = SharedView(
            work_email=next((_email(e.email) for e in works if e.email), None),
            work_phone=next((_text(e.phone) for e in works if e.phone), None),
            work_mobile=next((_text(e.mobile) for e in works if e.mobile), None),
            organizations=tuple((_text(e.company), _text(e.function)) for e in works),
        )
    return SharedView(
        given=_text(contact.first_name),
        family=_text(contact.last_name),
        home_email=_email(contact.email),
        work_email=professional.work_email,
        home_phone=_text(contact.phone),
        mobile=_text(contact.mobile),
        work_phone=professional.work_phone,
        work_mobile=professional.work_mobile,
        organizations=professional.organizations,
        biography=biography,
    )


def contact_fields(view: SharedView, contact: CrmContact | None = None) -> dict[str, Any]:
    """The CRM contact's fields for this view (``create_contact`` / ``update_contact``). The
    professional details go into the note, unless the contact's current employments already say
    the same (they are the CRM's own; the note keeps what Google says otherwise)."""
    note = compose_note(view)
    if contact is not None and contact.employments:
        held = view_of_contact(replace(contact, note=None))
        if _professional(held) == _professional(view):
            note = view.biography
    return {
        "first_name": view.given,
        "last_name": view.family,
        "email": view.home_email,
        "phone": view.home_phone,
        "mobile": view.mobile,
        "note": note,
    }


def _professional(view: SharedView) -> tuple[Any, ...]:
    return (view.organizations, view.work_email, view.work_phone, view.work_mobile)


def compose_note(view: SharedView) -> str | None:
    """The biography, then the professional details under their mark."""
    if not view.has_professional_details:
        return view.biography
    lines = [PROFESSIONAL_MARK]
    for name, title in view.organizations:
        lines.append(f"Organisation: {name or ''}".rstrip())
        if title:
            lines.append(f"Function: {title}")
    for label, value in (
        ("Work e-mail", view.work_email),
        ("Work phone", view.work_phone),
        ("Work mobile", view.work_mobile),
    ):
        if value:
            lines.append(f"{label}: {value}")
    block = "\n".join(lines)
    return f"{view.biography}\n\n{block}" if view.biography else block


def split_note(note: str | None) -> tuple[str | None, SharedView]:
    """(the note before the professional details, those details read back)."""
    if not note or PROFESSIONAL_MARK not in note:
        return _text(note), SharedView()
    before, _, block = note.partition(PROFESSIONAL_MARK)
    organizations: list[list[str | None]] = []
    found: dict[str, str | None] = {}
    for line in block.splitlines():
        label, _, value = line.partition(":")
        label, value = label.strip(), _text(value)
        if label == "Organisation":
            organizations.append([value, None])
        elif label == "Function":
            if not organizations or organizations[-1][1] is not None:
                organizations.append([None, None])
            organizations[-1][1] = value
        elif label in ("Work e-mail", "Work phone", "Work mobile"):
            found[label] = value
    return _text(before), SharedView(
        work_email=_email(found.get("Work e-mail")),
        work_phone=found.get("Work phone"),
        work_mobile=found.get("Work mobile"),
        organizations=tuple((name, title) for name, title in organizations),
    )


# -- the Google side -----------------------------------------------------------------------------------


def view_of_person(person: dict[str, Any]) -> SharedView:
    name = (person.get("names") or [{}])[0]
    emails = person.get("emailAddresses") or []
    phones = person.get("phoneNumbers") or []

    def first(entries: list[dict[str, Any]], types: tuple[Any, ...]) -> str | None:
        return next(
            (_text(e.get("value")) for e in entries if e.get("type") in types and e.get("value")), None
        )

    return SharedView(
        given=_text(name.get("givenName")),
        family=_text(name.get("familyName")),
        home_email=_email(first(emails, _HOME_TYPES)),
        work_email=_email(first(emails, ("work",))),
        home_phone=first(phones, _HOME_PHONE_TYPES),
        mobile=first(phones, ("mobile",)),
        work_phone=first(phones, ("work",)),
        work_mobile=first(phones, ("workMobile",)),
        organizations=tuple(
            (_text(o.get("name")), _text(o.get("title")))
            for o in person.get("organizations") or []
            if _text(o.get("name")) or _text(o.get("title"))
        ),
        biography=_text((person.get("biographies") or [{}])[0].get("value")),
    )


def person_body(view: SharedView, contact_id: str) -> dict[str, Any]:
    """The Google person's fields (``UPDATE_FIELDS``) for this view; empty lists clear a field."""
    emails = [{"value": v, "type": t} for v, t in ((view.home_email, "home"), (view.work_email, "work")) if v]
    phones = [
        {"value": v, "type": t}
        for v, t in (
            (view.home_phone, "home"),
            (view.mobile, "mobile"),
            (view.work_phone, "work"),
            (view.work_mobile, "workMobile"),
        )
        if v
    ]
    name = {k: v for k, v in (("givenName", view.given), ("familyName", view.family)) if v}
    return {
        "names": [name] if name else [],
        "emailAddresses": emails,
        "phoneNumbers": phones,
        "organizations": [{k: v for k, v in (("name", n), ("title", t)) if v} for n, t in view.organizations],
        "biographies": [{"value": view.biography, "contentType": "TEXT_PLAIN"}] if view.biography else [],
        "clientData": [{"key": CRM_ID_KEY, "value": contact_id}],
    }


def crm_id_of(person: dict[str, Any]) -> str | None:
    """The CRM contact a person was made from (we stamp it on create), if any."""
    for entry in person.get("clientData") or []:
        if entry.get("key") == CRM_ID_KEY and entry.get("value"):
            return str(entry["value"])
    return None


def person_emails(person: dict[str, Any]) -> list[str]:
    return [e for e in (_email(x.get("value")) for x in person.get("emailAddresses") or []) if e]


def person_etag(person: dict[str, Any]) -> str:
    """The etag an update must carry: the contact source's (Google checks that one)."""
    for source in (person.get("metadata") or {}).get("sources") or []:
        if source.get("type") == "CONTACT" and source.get("etag"):
            return source["etag"]
    return person.get("etag", "")


def person_updated_ms(person: dict[str, Any]) -> int:
    for source in (person.get("metadata") or {}).get("sources") or []:
        if source.get("type") == "CONTACT" and source.get("updateTime"):
            try:
                return int(datetime.fromisoformat(source["updateTime"]).timestamp() * 1000)
            except ValueError:
                return 0
    return 0


def in_group(person: dict[str, Any], group: str) -> bool:
    return any(
        (m.get("contactGroupMembership") or {}).get("contactGroupResourceName") == group
        for m in person.get("memberships") or []
    )


def is_deleted(person: dict[str, Any]) -> bool:
    return bool((person.get("metadata") or {}).get("deleted"))


# -- the conflict rule ---------------------------------------------------------------------------------


def last_modified_side(crm_changed_ms: int, google_changed_ms: int) -> str:
    """Both sides changed since the last run: the last modified wins ("crm" on a tie: the CRM's
    clock stamped it, Google's clock may be off by a little)."""
    return "google" if google_changed_ms > crm_changed_ms else "crm"
