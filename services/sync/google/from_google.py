"""Google to the CRM: each person of the group that changed in Google since the last run.

A linked person whose view equals the agreed one changed nothing we carry (or
is the echo of our own write). One that changed is written to its CRM contact,
unless the contact changed too and later (the last modified wins; the CRM's
change then goes to Google in the other direction). A person not linked yet is
linked to the CRM contact it was made from (``clientData``), or to the first
contact holding one of its e-mails (the other holders are reported), or made
as a new CRM contact. Deleted in Google, or out of the group: the link goes,
the CRM contact stays.
"""

from __future__ import annotations

from typing import Any

from eventlet.greenpool import GreenPool

from crm.errors import Conflict, InvalidInput, NotFound
from services.sync.google.crm_side import contact_from_record, created_contact_id
from services.sync.google.job_state import JobState, Link
from services.sync.google.mapping import (
    CrmContact,
    SharedView,
    contact_fields,
    crm_id_of,
    in_group,
    is_deleted,
    last_modified_side,
    person_emails,
    person_etag,
    person_updated_ms,
    view_of_contact,
    view_of_person,
)

TO_CRM = "to_crm"


def apply_person(job: JobState, person: dict[str, Any]) -> SharedView | None:
    """Apply one person; a person to make in the CRM is not made here: its view is answered, and
    ``create_in_crm`` makes it (the caller makes a page's at once)."""
    resource_name = person["resourceName"]
    link = job.links.by_resource.get(resource_name)
    if is_deleted(person) or not in_group(person, job.group):
        if link is not None:
            job.unlink(link.contact_id)
            why = "deleted in Google" if is_deleted(person) else "taken out of the group in Google"
            job.log(
                link.contact_id,
                resource_name,
                TO_CRM,
                "unlinked",
                f"{why}: no longer synced, the CRM contact is kept",
            )
        return None
    google = view_of_person(person)
    if link is not None:
        _changed_in_google(job, link, person, google)
        return None
    made_from = crm_id_of(person)
    if made_from and made_from not in job.links.by_contact:
        contact = job.contacts.by_id.get(made_from)
        if contact is not None and not contact.deleted:
            _first_link(job, contact, person, google, "made from this contact by an earlier run")
            return None
    holders = job.contacts.matching(person_emails(person))
    if holders:
        first = holders[0]
        for other in holders[1:]:
            job.log(
                other.id,
                resource_name,
                TO_CRM,
                "skipped",
                f"holds an e-mail of this Google contact too; only contact {first.id} is synced with it",
            )
        if first.id in job.links.by_contact:
            other = job.links.by_contact[first.id].resource_name
            job.log(
                first.id,
                resource_name,
                TO_CRM,
                "skipped",
                f"its e-mail is held by a contact already synced with {other}",
            )
            return None
        _first_link(job, first, person, google, "same e-mail")
        return None
    return google


def apply_page(job: JobState, people: list[dict[str, Any]], pool: GreenPool) -> None:
    """A page of people: each applied in order, then the new ones made in the CRM together (those
    sharing an e-mail with another new one after, one by one, so that they match it)."""
    new: list[tuple[dict[str, Any], SharedView]] = []
    for person in people:
        google = apply_person(job, person)
        if google is not None:
            new.append((person, google))
    seen: set[str] = set()
    together, after = [], []
    for person, google in new:
        emails = set(person_emails(person))
        (after if emails & seen else together).append((person, google))
        seen |= emails
    list(pool.imap(lambda item: create_in_crm(job, *item), together))
    for person, _ in after:
        google = apply_person(job, person)
        if google is not None:
            create_in_crm(job, person, google)


def _changed_in_google(job: JobState, link: Link, person: dict[str, Any], google: SharedView) -> None:
    if google == link.agreed:
        link.etag = person_etag(person)
        return
    contact = job.contacts.by_id.get(link.contact_id)
    if contact is None or contact.deleted:
        job.unlink(link.contact_id)
        job.log(
            link.contact_id,
            link.resource_name,
            TO_CRM,
            "unlinked",
            "the CRM contact is archived: no longer synced",
        )
        return
    crm = view_of_contact(contact)
    if crm != link.agreed:
        if last_modified_side(contact.last_change_ms, person_updated_ms(person)) == "crm":
            job.link(Link(contact.id, link.resource_name, person_etag(person), link.agreed))
            job.also_push.add(contact.id)
            job.log(
                contact.id,
                link.resource_name,
                TO_CRM,
                "conflict",
                f"changed on both sides ({_names(link.agreed, google)} in Google, "
                f"{_names(link.agreed, crm)} in the CRM); the CRM's change is the later and goes to Google",
            )
            return
        job.log(
            contact.id,
            link.resource_name,
            TO_CRM,
            "conflict",
            f"changed on both sides; Google's change is the later and is kept "
            f"({_names(link.agreed, crm)} in the CRM overwritten)",
        )
    _write(job, contact, person, google, link.agreed, "updated")


def _first_link(
    job: JobState, contact: CrmContact, person: dict[str, Any], google: SharedView, why: str
) -> None:
    """Two records meet: the last modified wins, and what it lacks is taken from the other."""
    crm = view_of_contact(contact)
    if last_modified_side(contact.last_change_ms, person_updated_ms(person)) == "google":
        merged = google.filled_from(crm)
    else:
        merged = crm.filled_from(google)
    resource_name = person["resourceName"]
    job.log(contact.id, resource_name, TO_CRM, "linked", f"linked ({why})")
    if merged != crm:
        if not _write(job, contact, person, merged, crm, "updated"):
            return
    else:
        job.link(Link(contact.id, resource_name, person_etag(person), google))
    if merged != google:  # what Google lacks goes there with the other direction
        job.also_push.add(contact.id)


def create_in_crm(job: JobState, person: dict[str, Any], google: SharedView) -> None:
    resource_name = person["resourceName"]
    contact_id = created_contact_id(job.user_id, resource_name)
    fields = contact_fields(google)
    if not (fields["first_name"] or fields["last_name"] or fields["email"]):
        job.log(
            None, resource_name, TO_CRM, "skipped", "no name and no e-mail: nothing to make a CRM contact of"
        )
        return
    try:
        record = job.writer.create(contact_id, fields)
    except (InvalidInput, Conflict) as refused:
        job.log(None, resource_name, TO_CRM, "skipped", f"the CRM refused it: {refused.detail}")
        return
    contact = contact_from_record(record)
    job.contacts.put(contact)
    job.link(Link(contact.id, resource_name, person_etag(person), google))
    job.log(contact.id, resource_name, TO_CRM, "created", "made in the CRM from Google")


def _write(
    job: JobState,
    contact: CrmContact,
    person: dict[str, Any],
    view: SharedView,
    before: SharedView,
    action: str,
) -> bool:
    """Write ``view`` to the CRM contact; the link then agrees on Google's view of the person."""
    resource_name = person["resourceName"]
    try:
        record = job.writer.update(contact.id, contact_fields(view, contact), contact.version)
    except NotFound:
        job.unlink(contact.id)
        job.log(contact.id, resource_name, TO_CRM, "unlinked", "the CRM contact no longer exists")
        return False
    except Conflict as refused:
        # Changed in the CRM meanwhile (the replica was behind), or an e-mail another contact holds.
        job.log(
            contact.id,
            resource_name,
            TO_CRM,
            "skipped",
            f"the CRM refused the change: {refused.detail}; tried again at the next run",
        )
        return False
    except InvalidInput as refused:
        job.log(contact.id, resource_name, TO_CRM, "skipped", f"the CRM refused the change: {refused.detail}")
        return False
    updated = contact_from_record(record)
    job.contacts.put(updated)
    job.link(Link(contact.id, resource_name, person_etag(person), view_of_person(person)))
    changed = _names(before, view_of_contact(updated))
    job.log(
        contact.id,
        resource_name,
        TO_CRM,
        action,
        f"changed in the CRM: {changed}" if changed else "nothing to change",
    )
    return True


def _names(before: SharedView, after: SharedView) -> str:
    return ", ".join(before.differences(after)) or "nothing"
