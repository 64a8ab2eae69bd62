"""A contact of sync's replica written as a vCard 3.0 or 4.0, for the CardDAV address book.

The card is written by the contacts service's own writer
(``services/contacts/vcard/writer.py``, over vobject), so that a contact reads
the same whether exported from the web or synced by a CardDAV client. The
writer reads attributes only: the replica's raw records (the phone's columns,
docs/sync.md) are handed to it as the small records below, with the card's
``details`` (phones in E.164, social profiles: ``address_cards.details_of``).

What the replica does not hold is not on the card: interests (CATEGORIES).
A job is current as it was at the contact's last change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers

from services.contacts.vcard.writer import Job, write_card


@dataclass(frozen=True)
class CardContact:
    id: str
    first_name: str | None
    last_name: str | None
    phone_e164: str | None
    mobile_e164: str | None
    email: str | None
    address_street: str | None
    address_postal_code: str | None
    address_city: str | None
    address_country: str | None
    note: str | None
    birthday: date | None
    website: str | None
    updated_at: datetime
    social: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardCompany:
    name: str
    address_street: str | None
    address_postal_code: str | None
    address_city: str | None
    address_country: str | None


@dataclass(frozen=True)
class CardEmployment:
    function: str | None
    phone_e164: str | None
    mobile_e164: str | None
    email: str | None


@dataclass
class CardSource:
    """What one card shows, as the replica holds it (raw records, ``deleted`` flags dropped:
    ``employments`` are the live ones, ``companies`` the deleted ones too)."""

    contact: dict[str, Any]
    details: dict[str, Any] | None
    employments: list[dict[str, Any]]
    companies: dict[str, tuple[dict[str, Any], bool]]  # id -> (raw, deleted)


def write(source: CardSource, version: str) -> str:
    """The card in ``version`` ("3.0" or "4.0"), lines ending in CRLF."""
    return write_card(_contact(source.contact, source.details), _jobs(source), version)


def _contact(raw: dict[str, Any], details: dict[str, Any] | None) -> CardContact:
    known = details if details is not None else {}
    phones = _phones(raw, details)
    birthday = raw.get("birthday")
    updated = raw.get("updated_at") or raw.get("created_at") or 0
    return CardContact(
        id=raw["id"],
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        phone_e164=phones.get("phone_e164"),
        mobile_e164=phones.get("mobile_e164"),
        email=raw.get("email"),
        address_street=raw.get("street"),
        address_postal_code=raw.get("postal_code"),
        address_city=raw.get("city"),
        address_country=raw.get("country"),
        note=raw.get("note"),
        birthday=date.fromisoformat(birthday) if birthday else None,
        website=raw.get("website"),
        updated_at=datetime.fromtimestamp(updated / 1000, UTC),
        social=dict(known.get("social") or {}),
    )


def _jobs(source: CardSource) -> list[Job]:
    """Current employments first, then the latest started (as the contacts service's export)."""
    jobs_details = (source.details or {}).get("jobs") or {}
    kept = source.details is not None
    ordered = sorted(
        source.employments,
        key=lambda e: (e.get("start_date") or date.min.isoformat(), e.get("created_at") or 0, e["id"]),
        reverse=True,
    )
    jobs = []
    for employment in ordered:
        held = source.companies.get(employment["company_id"])
        if held is None:  # its company has not reached the replica yet
            continue
        company, company_deleted = held
        phones = (jobs_details.get(employment["id"]) or {}) if kept else _phones(employment, None)
        jobs.append(
            Job(
                CardEmployment(
                    function=employment.get("function"),
                    phone_e164=phones.get("phone_e164"),
                    mobile_e164=phones.get("mobile_e164"),
                    email=employment.get("email"),
                ),
                CardCompany(
                    name=company["name"],
                    address_street=company.get("street"),
                    address_postal_code=company.get("postal_code"),
                    address_city=company.get("city"),
                    address_country=company.get("country"),
                ),
                bool(employment.get("is_current")) and not company_deleted,
            )
        )
    jobs.sort(key=lambda job: not job.current)  # stable: latest start first within each
    return jobs


def _phones(raw: dict[str, Any], details: dict[str, Any] | None) -> dict[str, str | None]:
    """The phones in E.164 as kept; a card stamped before its details were kept shows those
    typed in international form."""
    if details is not None:
        return details
    return {"phone_e164": _e164(raw.get("phone")), "mobile_e164": _e164(raw.get("mobile"))}


def _e164(typed: str | None) -> str | None:
    """A phone typed in international form (``+33 1 23 45 67 89``) in E.164; None otherwise
    (a national number needs the organisation's region, which only the contacts service knows)."""
    if not typed:
        return None
    try:
        number = phonenumbers.parse(typed, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
