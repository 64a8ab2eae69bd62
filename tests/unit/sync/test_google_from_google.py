"""Google to the CRM, a page at a time: the contacts a page changes go in one ``update_contacts``,
and a person concerning a contact whose change is still waiting sees the CRM as it would one by
one (the batch is sent first)."""

from __future__ import annotations

from typing import Any

from services.sync.google.crm_side import ContactsWriter, CrmContacts
from services.sync.google.from_google import apply_page
from services.sync.google.job_state import JobState, Links
from services.sync.google.mapping import CrmContact

GROUP = "contactGroups/simplecrm"
ANNE_ID = "0190a1b2-0000-7000-8000-0000000000aa"


class ContactsCalls:
    """``update_contacts`` as the contacts service answers it (a stale version refused), counting
    the calls."""

    def __init__(self, contacts: dict[str, dict[str, Any]]):
        self.contacts, self.calls = contacts, []

    def __call__(self, method: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append((method, [item["id"] for item in items]))
        return {"items": [self._update(item["id"], item["changes"]) for item in items]}

    def _update(self, contact_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        record = self.contacts[contact_id]
        if changes.get("version") not in (None, record["version"]):
            stale = {"exc_type": "StaleVersion", "exc_path": "crm.errors.StaleVersion", "value": "stale"}
            return {"error": {**stale, "exc_args": [f"version: contact {contact_id} is stale", []]}}
        record.update({k: v for k, v in changes.items() if k != "version"}, version=record["version"] + 1)
        return dict(record)


def _person(n: int, given: str, email: str) -> dict[str, Any]:
    return {
        "resourceName": f"people/c{n}",
        "etag": f"etag-{n}",
        "names": [{"givenName": given, "familyName": "Durand"}],
        "emailAddresses": [{"value": email, "type": "home"}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": GROUP}}],
        "metadata": {
            "sources": [{"type": "CONTACT", "etag": f"etag-{n}", "updateTime": "2027-03-01T09:00:00Z"}]
        },
    }


def _job(calls: ContactsCalls, contacts: list[CrmContact]) -> JobState:
    return JobState(
        None,
        "run",
        "runner",
        "org",
        "user",
        GROUP,
        None,
        ContactsWriter(calls),
        CrmContacts({c.id: c for c in contacts}),
        Links(),
    )


def _contact(contact_id: str, first_name: str, email: str) -> CrmContact:
    return CrmContact(contact_id, first_name, "Durand", email, None, None, None, 1, 1)


def test_the_contacts_a_page_changes_go_in_one_call():
    others = [
        _contact(f"0190a1b2-0000-7000-8000-00000000000{n}", "Client", f"c{n}@gmail.com") for n in range(3)
    ]
    calls = ContactsCalls(
        {c.id: {"id": c.id, "first_name": "Client", "last_name": "Durand", "version": 1} for c in others}
    )
    job = _job(calls, others)

    apply_page(job, [_person(n, f"Cliente {n}", f"c{n}@gmail.com") for n in range(3)])

    assert calls.calls == [("update_contacts", [c.id for c in others])]
    assert [(e[0], e[3]) for e in job._log if e[3] == "updated"] == [(c.id, "updated") for c in others]
    assert set(job.links.by_contact) == {c.id for c in others}


def test_a_second_person_with_the_same_e_mail_sees_the_contact_linked_to_the_first():
    anne = _contact(ANNE_ID, "Anne", "anne.durand@gmail.com")
    calls = ContactsCalls(
        {ANNE_ID: {"id": ANNE_ID, "first_name": "Anne", "last_name": "Durand", "version": 1}}
    )
    job = _job(calls, [anne])

    apply_page(
        job, [_person(1, "Annie", "anne.durand@gmail.com"), _person(2, "Anna", "anne.durand@gmail.com")]
    )

    assert calls.calls == [("update_contacts", [ANNE_ID])]  # sent before the second person was read
    assert job.links.by_contact[ANNE_ID].resource_name == "people/c1"
    skipped = [e for e in job._log if e[3] == "skipped"]
    assert [(e[1], e[4]) for e in skipped] == [
        ("people/c2", "its e-mail is held by a contact already synced with people/c1")
    ]
