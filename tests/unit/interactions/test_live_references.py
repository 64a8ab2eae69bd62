"""What a process keeps of contacts' live ids: asked once, forgotten at the archive."""

from __future__ import annotations

from services.interactions.live_references import LiveReferences

POMME, POIRE = "org-pomme", "org-poire"
JEANNE, SIEGE = "contact-jeanne", "company-siege"


class CountingContacts:
    """Stands in for ``contacts.live_ids``: Pomme's live contacts and companies, and the calls."""

    def __init__(self) -> None:
        self.live = {JEANNE, SIEGE}
        self.asked: list[tuple[list[str], list[str]]] = []
        self.during_call = lambda: None

    def live_ids(self, contact_ids: list[str], company_ids: list[str]) -> dict[str, list[str]]:
        self.asked.append((contact_ids, company_ids))
        self.during_call()
        return {
            "contact_ids": [i for i in contact_ids if i in self.live],
            "company_ids": [i for i in company_ids if i in self.live],
        }


def archived(kind: str, target_id: str, org_id: str = POMME) -> dict:
    return {"event_type": f"{kind}_deleted", "org_id": org_id, "record": {"id": target_id}}


def listening() -> LiveReferences:
    references = LiveReferences()
    references.listen(True)
    return references


def test_a_contact_and_a_company_seen_live_are_linked_again_without_asking():
    references, contacts = listening(), CountingContacts()
    for _ in range(3):
        found = references.live_ids(POMME, [JEANNE], [SIEGE], contacts.live_ids)
        assert found == {"contact_ids": [JEANNE], "company_ids": [SIEGE]}
    assert contacts.asked == [([JEANNE], [SIEGE])]


def test_only_the_ids_not_known_are_asked_for_and_the_unknown_stay_unknown():
    references, contacts = listening(), CountingContacts()
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    found = references.live_ids(POMME, [JEANNE, "contact-nobody"], [SIEGE], contacts.live_ids)
    assert found == {"contact_ids": [JEANNE], "company_ids": [SIEGE]}
    assert contacts.asked[1] == (["contact-nobody"], [SIEGE])


def test_what_one_organisation_saw_live_is_asked_again_for_another():
    references, contacts = listening(), CountingContacts()
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    references.live_ids(POIRE, [JEANNE], [], contacts.live_ids)
    assert len(contacts.asked) == 2


def test_an_archived_contact_is_asked_for_again():
    references, contacts = listening(), CountingContacts()
    references.live_ids(POMME, [JEANNE], [SIEGE], contacts.live_ids)
    contacts.live.discard(JEANNE)
    references.heard("contact_deleted", archived("contact", JEANNE))
    found = references.live_ids(POMME, [JEANNE], [SIEGE], contacts.live_ids)
    assert found == {"contact_ids": [], "company_ids": [SIEGE]}
    assert contacts.asked[1] == ([JEANNE], [])


def test_an_answer_given_while_an_archive_arrived_is_not_kept():
    references, contacts = listening(), CountingContacts()
    contacts.during_call = lambda: references.heard("company_deleted", archived("company", "company-other"))
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    contacts.during_call = lambda: None
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    assert len(contacts.asked) == 2


def test_nothing_is_kept_while_archives_are_not_heard_and_all_is_forgotten_when_they_stop():
    references, contacts = LiveReferences(), CountingContacts()
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    assert len(contacts.asked) == 2
    references.listen(True)
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    references.listen(False)  # the broker lost: an archive may be missed
    references.listen(True)
    references.live_ids(POMME, [JEANNE], [], contacts.live_ids)
    assert len(contacts.asked) == 4
