"""The CRM side of the Google sync: contacts read from sync's replica (which the contacts
service's events keep), written through the contacts service's RPCs with the user's rights.

The replica is sync's own copy (no read of another service's tables); what
changed since a run is what its change sequence stamped later. Writes are
``create_contacts`` and ``update_contacts`` calls (a batch at a time), acting as the user with the
access token the job traded its API token for, so the same checks hold as on
the web (a read-only user cannot write, an e-mail held by another contact is a
conflict, a stale version is refused).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from nameko.exceptions import deserialize
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sync import records as r
from services.sync.google.mapping import CrmContact, Employment
from services.sync.models import ReplicaRecord

_CREATED_ID_SPACE = uuid.UUID("6f1c0d2e-2b9a-4c52-9d0e-5b1f3c7a9e41")


def created_contact_id(user_id: str, resource_name: str) -> str:
    """The id of the CRM contact made from a Google person: the same on every try, so that a run
    redone after a crash makes it once (the contacts service takes an id again as a replay)."""
    return str(uuid.uuid5(_CREATED_ID_SPACE, f"{user_id}/{resource_name}"))


@dataclass
class CrmContacts:
    """The organisation's contacts as the replica holds them, with an index by e-mail."""

    by_id: dict[str, CrmContact]
    _by_email: dict[str, tuple[set[str], set[str]]] | None = None

    def put(self, contact: CrmContact) -> None:
        old = self.by_id.get(contact.id)
        self.by_id[contact.id] = contact
        if self._by_email is not None:
            if old is not None:
                self._index(old, discard=True)
            if not contact.deleted:
                self._index(contact)

    def _index(self, contact: CrmContact, discard: bool = False) -> None:
        assert self._by_email is not None
        for kind, emails in enumerate(contact.emails()):
            for email in emails:
                holders = self._by_email.setdefault(email, (set(), set()))[kind]
                if discard:
                    holders.discard(contact.id)
                else:
                    holders.add(contact.id)

    def matching(self, emails: Iterable[str]) -> list[CrmContact]:
        """Live contacts holding one of ``emails``: personal e-mail matches first, then
        professional ones, each in creation order (ids are time-ordered)."""
        if self._by_email is None:
            self._by_email = {}
            for contact in self.by_id.values():
                if not contact.deleted:
                    self._index(contact)
        personal: set[str] = set()
        professional: set[str] = set()
        for email in emails:
            own, work = self._by_email.get(email, (set(), set()))
            personal |= own
            professional |= work
        professional -= personal
        return [self.by_id[i] for i in sorted(personal)] + [self.by_id[i] for i in sorted(professional)]


def load_contacts(session: Session, org_id: str, ids: Iterable[str] | None = None) -> CrmContacts:
    """Every contact of the organisation (or those of ``ids``), with current employments."""
    wanted = None if ids is None else set(ids)
    contact_rows = _rows(session, org_id, r.CONTACTS, wanted)
    employment_rows = [
        row
        for row in _rows(session, org_id, r.EMPLOYMENTS, None)
        if not row[1] and (wanted is None or row[0]["contact_id"] in wanted)
    ]
    companies = {
        raw["id"]: raw.get("name")
        for raw, deleted in _rows(session, org_id, r.COMPANIES, {e["company_id"] for e, _ in employment_rows})
        if not deleted
    }
    today = date.today().isoformat()
    jobs: dict[str, list[Employment]] = defaultdict(list)
    # Latest start first, as the contacts service lists them.
    by_start = sorted(
        employment_rows, key=lambda row: (row[0].get("start_date") or "", row[0]["id"]), reverse=True
    )
    for raw, _ in by_start:
        current = raw.get("is_current") and (raw.get("end_date") or "9999") >= today
        if current and raw["company_id"] in companies:
            jobs[raw["contact_id"]].append(
                Employment(
                    companies[raw["company_id"]],
                    raw.get("function"),
                    raw.get("email"),
                    raw.get("phone"),
                    raw.get("mobile"),
                    raw.get("updated_at") or 0,
                )
            )
    return CrmContacts(
        {
            raw["id"]: CrmContact(
                id=raw["id"],
                first_name=raw.get("first_name"),
                last_name=raw.get("last_name"),
                email=raw.get("email"),
                phone=raw.get("phone"),
                mobile=raw.get("mobile"),
                note=raw.get("note"),
                version=raw.get("version") or 0,
                updated_ms=raw.get("updated_at") or 0,
                employments=tuple(jobs.get(raw["id"], ())),
                deleted=deleted,
            )
            for raw, deleted in contact_rows
        }
    )


def contact_from_record(record: dict[str, Any]) -> CrmContact:
    """A contact as ``get_contact`` answers it (when the replica is behind)."""
    today = date.today().isoformat()
    return CrmContact(
        id=record["id"],
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        email=record.get("email"),
        phone=record.get("phone"),
        mobile=record.get("mobile"),
        note=record.get("note"),
        version=record["version"],
        updated_ms=r.ms(record.get("updated_at")) or 0,
        employments=tuple(
            Employment(
                (e.get("company") or {}).get("name"),
                e.get("function"),
                e.get("email"),
                e.get("phone"),
                e.get("mobile"),
                r.ms(e.get("updated_at")) or 0,
            )
            for e in record.get("employments") or []
            if e.get("current") and (e.get("end_date") or "9999") >= today
        ),
        deleted=bool(record.get("deleted_at")),
    )


def changed_contact_ids(session: Session, org_id: str, after_seq: int, upto_seq: int) -> set[str]:
    """Contacts whose card in Google may have changed in (after_seq, upto_seq]: the contact, one of
    its employments, or the company of one of them changed."""
    stamped = select(ReplicaRecord.table_name, ReplicaRecord.record_id, ReplicaRecord.raw).where(
        ReplicaRecord.org_id == org_id,
        ReplicaRecord.table_name.in_((r.CONTACTS, r.EMPLOYMENTS, r.COMPANIES)),
        ReplicaRecord.seq > after_seq,
        ReplicaRecord.seq <= upto_seq,
    )
    ids: set[str] = set()
    companies: set[str] = set()
    for table, record_id, raw in session.execute(stamped):
        if table == r.CONTACTS:
            ids.add(record_id)
        elif table == r.EMPLOYMENTS:
            ids.add(json.loads(raw)["contact_id"])
        else:
            companies.add(record_id)
    if companies:
        for raw, _ in _rows(session, org_id, r.EMPLOYMENTS, None):
            if raw["company_id"] in companies:
                ids.add(raw["contact_id"])
    return ids


def _rows(
    session: Session, org_id: str, table: str, ids: Iterable[str] | None
) -> list[tuple[dict[str, Any], bool]]:
    query = select(ReplicaRecord.raw, ReplicaRecord.deleted).where(
        ReplicaRecord.org_id == org_id, ReplicaRecord.table_name == table
    )
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
        query = query.where(ReplicaRecord.record_id.in_(ids))
    return [(json.loads(raw), deleted) for raw, deleted in session.execute(query)]


class ContactsWriter:
    """``create_contacts`` / ``update_contacts`` / ``get_contact`` of the contacts service, called
    with ``access_token`` as the caller (``call(method, *args)``)."""

    def __init__(self, call: Any):
        self._call = call

    def create_many(self, made: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any] | Exception]:
        """``create_contacts`` of up to 50 ``(contact id, fields)``: each the record made (or
        made by an earlier try), or the error that refused it alone."""
        return _answers(self._call("create_contacts", [{"id": i, **_present(fields)} for i, fields in made]))

    def update_many(
        self, changes: list[tuple[str, dict[str, Any], int | None]]
    ) -> list[dict[str, Any] | Exception]:
        """``update_contacts`` of up to 50 ``(contact id, fields, version read)``: each the
        contact as it is now, or the error that refused it alone (a stale version: ``Conflict``)."""
        items = [
            {"id": contact_id, "changes": {**fields, "version": version} if version else dict(fields)}
            for contact_id, fields, version in changes
        ]
        return _answers(self._call("update_contacts", items))

    def get(self, contact_id: str) -> dict[str, Any]:
        return self._call("get_contact", contact_id)


def _answers(answer: dict[str, Any]) -> list[dict[str, Any] | Exception]:
    return [deserialize(item["error"]) if "error" in item else item for item in answer["items"]]


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
