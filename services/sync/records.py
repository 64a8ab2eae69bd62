"""Records as the owning services announce them, turned into WatermelonDB raw records.

Pure functions: an event's record in, the phone's columns out (snake_case,
times as milliseconds since the epoch, lists as JSON text). The tables and
columns are the contract of docs/sync.md.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

COMPANIES = "companies"
CONTACTS = "contacts"
EMPLOYMENTS = "employments"
INTERACTIONS = "interactions"
PARTICIPANTS = "participants"
PROJECTS = "projects"
NOTES = "notes"
DOCUMENTS = "documents"
INTERACTION_TYPES = "interaction_types"
USERS = "users"
CHECK_INS = "check_ins"

TABLES = (
    COMPANIES,
    CONTACTS,
    EMPLOYMENTS,
    INTERACTIONS,
    PARTICIPANTS,
    PROJECTS,
    NOTES,
    DOCUMENTS,
    INTERACTION_TYPES,
    USERS,
    CHECK_INS,
)
# Whole tables of the organisation every phone carries.
ORG_WIDE_TABLES = (INTERACTION_TYPES, USERS)
REFUSED = "refused"


def ms(moment: str | None) -> int | None:
    """An ISO 8601 time as WatermelonDB wants it: milliseconds since the epoch."""
    if moment is None:
        return None
    return int(datetime.fromisoformat(moment).timestamp() * 1000)


def _address(record: dict[str, Any]) -> dict[str, Any]:
    address = record.get("address") or {}
    position = address.get("position") or {}
    return {
        "street": address.get("street"),
        "postal_code": address.get("postal_code"),
        "city": address.get("city"),
        "country": address.get("country"),
        "latitude": position.get("latitude"),
        "longitude": position.get("longitude"),
    }


def _stamps(record: dict[str, Any]) -> dict[str, Any]:
    return {"created_at": ms(record.get("created_at")), "updated_at": ms(record.get("updated_at"))}


def company_raw(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "group_name": record.get("group"),
        **_address(record),
        "phone": record.get("phone"),
        "email": record.get("email"),
        "website": record.get("website"),
        "notes": record.get("notes"),
        "tags": json.dumps(record.get("tags") or []),
        "version": record["version"],
        **_stamps(record),
    }


def contact_raw(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "first_name": record.get("first_name"),
        "last_name": record.get("last_name"),
        "phone": record.get("phone"),
        "mobile": record.get("mobile"),
        "email": record.get("email"),
        **_address(record),
        "note": record.get("note"),
        "birthday": record.get("birthday"),
        "website": record.get("website"),
        "version": record["version"],
        **_stamps(record),
    }


def employment_raw(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "contact_id": record["contact_id"],
        "company_id": record["company_id"],
        "function": record.get("function"),
        "phone": record.get("phone"),
        "mobile": record.get("mobile"),
        "email": record.get("email"),
        "start_date": record.get("start_date"),
        "end_date": record.get("end_date"),
        "is_current": bool(record.get("current")),
        "version": record["version"],
        **_stamps(record),
    }


def interaction_raw(record: dict[str, Any]) -> dict[str, Any]:
    budget = record.get("budget") or {}
    return {
        "id": record["id"],
        "subject": record["subject"],
        "type": record["type"],
        "status": record.get("status"),
        "start_at": ms(record["start_at"]),
        "end_at": ms(record.get("end_at")),
        "all_day": bool(record.get("all_day")),
        "owner_id": record.get("owner_id"),
        "project_id": record.get("project_id"),
        "description": record.get("description"),
        "contact_ids": json.dumps(record.get("contact_ids") or []),
        "company_ids": json.dumps(record.get("company_ids") or []),
        "budget_amount": budget.get("amount"),
        "budget_currency": budget.get("currency"),
        "version": record["version"],
        **_stamps(record),
    }


def participant_id(interaction_id: str, user_id: str) -> str:
    return f"{interaction_id}:{user_id}"


def participant_raw(interaction_id: str, participant: dict[str, Any]) -> dict[str, Any]:
    invited_at = ms(participant.get("invited_at"))
    return {
        "id": participant_id(interaction_id, participant["user_id"]),
        "interaction_id": interaction_id,
        "user_id": participant["user_id"],
        "status": participant["status"],
        "created_at": invited_at,
        "updated_at": ms(participant.get("responded_at")) or invited_at,
    }


def interaction_people(record: dict[str, Any]) -> set[str]:
    """Whose phone carries the interaction: its owner and every participant but the refused."""
    people = {p["user_id"] for p in record.get("participants") or [] if p["status"] != REFUSED}
    if record.get("owner_id"):
        people.add(record["owner_id"])
    return people


def project_raw(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "description": record.get("description"),
        "start_date": record.get("start_date"),
        "end_date": record.get("end_date"),
        "user_ids": json.dumps(record.get("user_ids") or []),
        "contact_ids": json.dumps(record.get("contact_ids") or []),
        "company_ids": json.dumps(record.get("company_ids") or []),
        **_stamps(record),
    }


def note_raw(record: dict[str, Any]) -> dict[str, Any]:
    written = ms(record.get("written_at"))
    return {
        "id": record["id"],
        "interaction_id": record["interaction_id"],
        "text": record["text"],
        "author_id": record.get("author_id"),
        "stamp": record.get("stamp"),
        "written_at": written,
        "created_at": written,
        "updated_at": written,
    }


def document_raw(record: dict[str, Any]) -> dict[str, Any]:
    created = ms(record.get("created_at"))
    return {
        "id": record["id"],
        "interaction_id": record["interaction_id"],
        "name": record["name"],
        "document_type": record.get("document_type"),
        "kind": record.get("kind"),
        "url": record.get("url"),
        "content_type": record.get("content_type"),
        "size": record.get("size"),
        "created_at": created,
        "updated_at": created,
    }


def interaction_type_raw(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["key"],
        "name": record["name"],
        "statuses": json.dumps(
            [
                {"key": s["key"], "name": s["name"], "closed": bool(s.get("closed"))}
                for s in record["statuses"]
            ]
        ),
        "invoice": record.get("invoice"),
    }


def user_raw(record: dict[str, Any]) -> dict[str, Any]:
    # The time zone places the user's calendar feed (services/sync/calendar.py) in their day.
    return {
        "id": record["id"],
        "name": record["name"],
        "time_zone": record.get("time_zone"),
        **_stamps(record),
    }


def check_in_raw(record: dict[str, Any]) -> dict[str, Any]:
    place = record.get("place") or {}
    checked_in = ms(record.get("checked_in_at"))
    return {
        "id": record["id"],
        "interaction_id": record["interaction_id"],
        "user_id": record["user_id"],
        "latitude": record.get("latitude"),
        "longitude": record.get("longitude"),
        "accuracy_m": record.get("accuracy_m"),
        "place_name": place.get("name"),
        "distance_m": record.get("distance_m"),
        "radius_m": record.get("radius_m"),
        "checked_in_at": checked_in,
        "checked_out_at": ms(record.get("checked_out_at")),
        "duration_seconds": record.get("duration_seconds"),
        "created_at": checked_in,
        "updated_at": ms(record.get("checked_out_at")) or checked_in,
    }


def check_in_version(record: dict[str, Any]) -> int:
    """Visits carry no version: an ended one outranks its start, whatever the arrival order."""
    return 2 if record.get("checked_out_at") else 1


def replica_version(table: str, record: dict[str, Any]) -> int | None:
    """The version the replica keeps of ``record`` as its owner answered it."""
    if table == CHECK_INS:
        return check_in_version(record)
    version = record.get("version")
    return version if isinstance(version, int) else None
