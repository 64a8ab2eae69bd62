"""The CRM to Google: each contact whose card in Google may have changed since the last run.

A linked contact whose view equals the agreed one has nothing new for Google
(or it is the echo of a write from Google). One that changed replaces its
person's fields, at the etag last seen: if Google changed the person since, it
is read again and the last modified wins (Google's change then comes to the
CRM at the next run). A contact not linked yet is made in Google, in the group,
with its CRM id in ``clientData`` (a run redone after a crash links it again
instead of making it twice). An archived contact leaves the group; its Google
contact stays.
"""

from __future__ import annotations

from providers.google_contacts import PersonNotFound, StaleEtag
from services.sync.google.job_state import JobState, Link
from services.sync.google.mapping import (
    UPDATE_FIELDS,
    CrmContact,
    SharedView,
    last_modified_side,
    person_body,
    person_etag,
    person_updated_ms,
    view_of_contact,
    view_of_person,
)

TO_GOOGLE = "to_google"


def push_batch(job: JobState, contact_ids: list[str]) -> None:
    """A batch of contacts: updates one by one (each at its etag), the new ones made together."""
    new: list[tuple[CrmContact, SharedView]] = []
    for contact_id in contact_ids:
        made = push_contact(job, contact_id)
        if made is not None:
            new.append(made)
    if new:
        _create(job, new)


def push_contact(job: JobState, contact_id: str) -> tuple[CrmContact, SharedView] | None:
    """Push one contact; one to make in Google is answered (``push_batch`` makes them together)."""
    contact = job.contacts.by_id.get(contact_id)
    link = job.links.by_contact.get(contact_id)
    if contact is None:
        return None
    if contact.deleted:
        if link is not None:
            _leave_group(job, link)
        return None
    crm = view_of_contact(contact)
    if link is None:
        return contact, crm
    if crm != link.agreed:
        _update(job, contact, crm, link)
    return None


def _create(job: JobState, new: list[tuple[CrmContact, SharedView]]) -> None:
    bodies = []
    for contact, crm in new:
        body = person_body(crm, contact.id)
        body["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": job.group}}]
        bodies.append(body)
    for (contact, _), person in zip(new, job.people.create_many(bodies), strict=True):
        job.link(Link(contact.id, person["resourceName"], person_etag(person), view_of_person(person)))
        job.log(contact.id, person["resourceName"], TO_GOOGLE, "created", "made in Google, in the group")


def _update(job: JobState, contact: CrmContact, crm: SharedView, link: Link) -> None:
    body = person_body(crm, contact.id)
    try:
        person = job.people.update(link.resource_name, link.etag, body, UPDATE_FIELDS)
    except StaleEtag:
        current = job.people.get(link.resource_name)
        google = view_of_person(current)
        if google == crm:
            job.link(Link(contact.id, link.resource_name, person_etag(current), google))
            return
        if last_modified_side(contact.last_change_ms, person_updated_ms(current)) == "google":
            job.log(
                contact.id,
                link.resource_name,
                TO_GOOGLE,
                "conflict",
                "changed in Google while this run read it, and later: Google's change comes to the CRM "
                "at the next run",
            )
            return
        person = job.people.update(link.resource_name, person_etag(current), body, UPDATE_FIELDS)
        job.log(
            contact.id,
            link.resource_name,
            TO_GOOGLE,
            "conflict",
            "changed on both sides; the CRM's change is the later and is kept",
        )
    except PersonNotFound:
        job.unlink(contact.id)
        job.log(
            contact.id,
            link.resource_name,
            TO_GOOGLE,
            "unlinked",
            "the Google contact no longer exists: no longer synced",
        )
        return
    changed = ", ".join(link.agreed.differences(crm))
    job.link(Link(contact.id, link.resource_name, person_etag(person), view_of_person(person)))
    job.log(contact.id, link.resource_name, TO_GOOGLE, "updated", f"changed in Google: {changed}")


def _leave_group(job: JobState, link: Link) -> None:
    try:
        job.people.remove_from_group(job.group, [link.resource_name])
    except PersonNotFound:
        pass
    job.unlink(link.contact_id)
    job.log(
        link.contact_id,
        link.resource_name,
        TO_GOOGLE,
        "unlinked",
        "archived in the CRM: taken out of the Google group, the Google contact is kept",
    )
