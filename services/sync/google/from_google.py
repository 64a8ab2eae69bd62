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

from dataclasses import dataclass
from typing import Any

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
# The most ``create_contacts`` and ``update_contacts`` take.
CREATED_AT_ONCE = WRITTEN_AT_ONCE = 50


def apply_person(job: JobState, person: dict[str, Any], updates: PageUpdates) -> SharedView | None:
    """Apply one person; a person to make in the CRM is not made here: its view is answered, and
    ``create_in_crm`` makes it (the caller makes a page's at once). A change of a CRM contact
    waits in ``updates`` (the caller sends a page's at once)."""
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
        _changed_in_google(job, link, person, google, updates)
        return None
    made_from = crm_id_of(person)
    if made_from and made_from not in job.links.by_contact:
        contact = job.contacts.by_id.get(made_from)
        if contact is not None and not contact.deleted:
            _first_link(job, contact, person, google, "made from this contact by an earlier run", updates)
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
        _first_link(job, first, person, google, "same e-mail", updates)
        return None
    return google


def apply_page(job: JobState, people: list[dict[str, Any]]) -> None:
    """A page of people: each applied in order, the CRM contacts they change changed in one batch,
    then the new ones made in the CRM in one batch (those sharing an e-mail with another new one
    after, one by one, so that they match it). A person concerning a contact with a change still
    waiting has the batch sent first, so each sees the contacts as one by one it would have."""
    updates = PageUpdates(job)
    new: list[tuple[dict[str, Any], SharedView]] = []
    for person in people:
        if updates.concern(person):
            updates.send()
        google = apply_person(job, person, updates)
        if google is not None:
            new.append((person, google))
    updates.send()
    seen: set[str] = set()
    together, after = [], []
    for person, google in new:
        emails = set(person_emails(person))
        (after if emails & seen else together).append((person, google))
        seen |= emails
    create_in_crm(job, together)
    for person, _ in after:
        google = apply_person(job, person, updates)
        updates.send()
        if google is not None:
            create_in_crm(job, [(person, google)])


@dataclass
class _Update:
    contact: CrmContact
    person: dict[str, Any]
    fields: dict[str, Any]
    before: SharedView
    push_after: bool  # a first link: what Google lacks goes there once the CRM has it


class PageUpdates:
    """Changes of CRM contacts waiting to be sent together (``update_contacts``)."""

    def __init__(self, job: JobState):
        self.job = job
        self.waiting: list[_Update] = []
        self.contact_ids: set[str] = set()
        self.emails: set[str] = set()

    def add(
        self, contact: CrmContact, person: dict[str, Any], view: SharedView, before: SharedView, push: bool
    ) -> None:
        fields = contact_fields(view, contact)
        self.waiting.append(_Update(contact, person, fields, before, push))
        self.contact_ids.add(contact.id)
        personal, professional = contact.emails()
        self.emails.update(personal, professional, [fields["email"]] if fields.get("email") else [])

    def concern(self, person: dict[str, Any]) -> bool:
        """Whether applying ``person`` reads a contact whose change is waiting."""
        if not self.waiting:
            return False
        link = self.job.links.by_resource.get(person["resourceName"])
        return (
            (link is not None and link.contact_id in self.contact_ids)
            or crm_id_of(person) in self.contact_ids
            or not self.emails.isdisjoint(person_emails(person))
        )

    def send(self) -> None:
        waiting, self.waiting = self.waiting, []
        self.contact_ids, self.emails = set(), set()
        for first in range(0, len(waiting), WRITTEN_AT_ONCE):
            batch = waiting[first : first + WRITTEN_AT_ONCE]
            answers = self.job.writer.update_many(
                [(update.contact.id, update.fields, update.contact.version) for update in batch]
            )
            for update, answer in zip(batch, answers, strict=True):
                _written(self.job, update, answer)


def _changed_in_google(
    job: JobState, link: Link, person: dict[str, Any], google: SharedView, updates: PageUpdates
) -> None:
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
    updates.add(contact, person, google, link.agreed, push=False)


def _first_link(
    job: JobState,
    contact: CrmContact,
    person: dict[str, Any],
    google: SharedView,
    why: str,
    updates: PageUpdates,
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
        updates.add(contact, person, merged, crm, push=merged != google)
        return
    job.link(Link(contact.id, resource_name, person_etag(person), google))
    if merged != google:  # what Google lacks goes there with the other direction
        job.also_push.add(contact.id)


def create_in_crm(job: JobState, new: list[tuple[dict[str, Any], SharedView]]) -> None:
    """Make CRM contacts of people linked to none (a page's at most: one ``create_contacts``)."""
    made: list[tuple[dict[str, Any], SharedView, dict[str, Any]]] = []
    for person, google in new:
        fields = contact_fields(google)
        if fields["first_name"] or fields["last_name"] or fields["email"]:
            made.append((person, google, fields))
        else:
            job.log(
                None,
                person["resourceName"],
                TO_CRM,
                "skipped",
                "no name and no e-mail: nothing to make a CRM contact of",
            )
    answers: list[dict[str, Any] | Exception] = []
    for first in range(0, len(made), CREATED_AT_ONCE):
        answers += job.writer.create_many(
            [
                (created_contact_id(job.user_id, person["resourceName"]), fields)
                for person, _, fields in made[first : first + CREATED_AT_ONCE]
            ]
        )
    for (person, google, _), answer in zip(made, answers, strict=True):
        resource_name = person["resourceName"]
        if isinstance(answer, (InvalidInput, Conflict)):
            job.log(None, resource_name, TO_CRM, "skipped", f"the CRM refused it: {answer.detail}")
            continue
        if isinstance(answer, Exception):
            raise answer
        contact = contact_from_record(answer)
        job.contacts.put(contact)
        job.link(Link(contact.id, resource_name, person_etag(person), google))
        job.log(contact.id, resource_name, TO_CRM, "created", "made in the CRM from Google")


def _written(job: JobState, update: _Update, answer: dict[str, Any] | Exception) -> None:
    """What ``update_contacts`` answered for a change: the link then agrees on Google's view of
    the person, or the log says why the CRM refused it."""
    contact, resource_name = update.contact, update.person["resourceName"]
    if isinstance(answer, NotFound):
        job.unlink(contact.id)
        job.log(contact.id, resource_name, TO_CRM, "unlinked", "the CRM contact no longer exists")
        return
    if isinstance(answer, Conflict):
        # Changed in the CRM meanwhile (the replica was behind), or an e-mail another contact holds.
        job.log(
            contact.id,
            resource_name,
            TO_CRM,
            "skipped",
            f"the CRM refused the change: {answer.detail}; tried again at the next run",
        )
        return
    if isinstance(answer, InvalidInput):
        job.log(contact.id, resource_name, TO_CRM, "skipped", f"the CRM refused the change: {answer.detail}")
        return
    if isinstance(answer, Exception):
        raise answer
    updated = contact_from_record(answer)
    job.contacts.put(updated)
    job.link(Link(contact.id, resource_name, person_etag(update.person), view_of_person(update.person)))
    changed = _names(update.before, view_of_contact(updated))
    job.log(
        contact.id,
        resource_name,
        TO_CRM,
        "updated",
        f"changed in the CRM: {changed}" if changed else "nothing to change",
    )
    if update.push_after:  # what Google lacks goes there with the other direction
        job.also_push.add(contact.id)


def _names(before: SharedView, after: SharedView) -> str:
    return ", ".join(before.differences(after)) or "nothing"
