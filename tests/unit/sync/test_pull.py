"""The pull's diff over a real (SQLite) replica: created, updated, deleted, from any earlier point."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crm.database import create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from services.sync import feed, pull
from services.sync.scope import Windows

POMME, ALICE, BRUNO = "org-pomme", "user-alice", "user-bruno"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(tmp_path: Path):
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/{{service}}.db"}}
    )
    upgrade(settings, "sync")
    engine = create_service_engine(settings, "sync")
    with Session(engine) as session:
        yield session
    engine.dispose()


def _interaction(interaction_id: str, start: datetime, version: int = 1, **fields) -> dict:
    return {
        "id": interaction_id,
        "subject": fields.pop("subject", "Visite boulangerie"),
        "type": "meeting",
        "status": "planned",
        "start_at": start.isoformat(),
        "end_at": None,
        "all_day": False,
        "owner_id": ALICE,
        "contact_ids": [],
        "company_ids": [],
        "participants": [],
        "version": version,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        **fields,
    }


def _contact(contact_id: str, version: int = 1) -> dict:
    return {
        "id": contact_id,
        "first_name": "Jeanne",
        "last_name": "Dupont",
        "version": version,
        "employments": [],
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def _apply(session: Session, apply, *args) -> None:
    apply(feed.Feed(session, POMME), *args)
    session.commit()


def _pull(session: Session, user: str, since: int | None, now: datetime = NOW) -> dict:
    body, timestamp, _count = pull.pull(session, POMME, user, now, Windows(), since)
    session.commit()
    answer = json.loads(body)
    assert answer["timestamp"] == timestamp
    return answer


def _ids(answer: dict, table: str, kind: str) -> set[str]:
    items = answer["changes"].get(table, {}).get(kind, [])
    return {item if isinstance(item, str) else item["id"] for item in items}


def test_the_first_pull_brings_own_interactions_with_their_contacts_and_nothing_else(session):
    _apply(session, feed.apply_contact, _contact("jeanne"), False)
    _apply(
        session,
        feed.apply_interaction,
        _interaction("visite", NOW + timedelta(days=3), contact_ids=["jeanne"]),
    )
    _apply(session, feed.apply_interaction, _interaction("ancienne", NOW - timedelta(days=100)))
    _apply(session, feed.apply_interaction, _interaction("lointaine", NOW + timedelta(days=31)))
    _apply(session, feed.apply_interaction, _interaction("de-bruno", NOW, owner_id=BRUNO))

    answer = _pull(session, ALICE, None)

    assert _ids(answer, "interactions", "created") == {"visite"}
    assert _ids(answer, "contacts", "created") == {"jeanne"}
    assert _pull(session, BRUNO, None)["changes"]["interactions"]["created"][0]["id"] == "de-bruno"


def test_changes_entries_and_exits_are_answered_from_any_earlier_timestamp(session):
    _apply(session, feed.apply_interaction, _interaction("visite", NOW + timedelta(days=1)))
    first = _pull(session, ALICE, None)

    _apply(
        session,
        feed.apply_interaction,
        _interaction("visite", NOW + timedelta(days=1), 2, subject="Visite (quai 4)"),
    )
    second = _pull(session, ALICE, first["timestamp"])
    assert [r["subject"] for r in second["changes"]["interactions"]["updated"]] == ["Visite (quai 4)"]
    assert _pull(session, ALICE, second["timestamp"])["changes"] == {}

    _apply(session, feed.apply_interaction, _interaction("visite", NOW - timedelta(days=120), 3))
    _apply(session, feed.apply_interaction, _interaction("nouvelle", NOW + timedelta(days=2)))
    third = _pull(session, ALICE, second["timestamp"])
    assert _ids(third, "interactions", "deleted") == {"visite"}
    assert _ids(third, "interactions", "created") == {"nouvelle"}
    assert third["timestamp"] > second["timestamp"]

    # The answer to the third pull was lost: pulling again from the second loses nothing.
    again = _pull(session, ALICE, second["timestamp"])
    assert _ids(again, "interactions", "deleted") == {"visite"}
    assert _ids(again, "interactions", "created") == {"nouvelle"}
    # And from the first: the interaction it held is gone, the new one is new.
    assert _ids(_pull(session, ALICE, first["timestamp"]), "interactions", "deleted") == {"visite"}


def test_time_passing_takes_an_interaction_out_without_any_change(session):
    _apply(session, feed.apply_interaction, _interaction("compta", NOW - timedelta(days=85)))
    first = _pull(session, ALICE, None)
    later = _pull(session, ALICE, first["timestamp"], now=NOW + timedelta(days=10))
    assert _ids(later, "interactions", "deleted") == {"compta"}


def test_an_older_event_arriving_late_changes_nothing(session):
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 3, subject="Nouveau sujet"))
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 2, subject="Ancien sujet"))
    answer = _pull(session, ALICE, None)
    assert [r["subject"] for r in answer["changes"]["interactions"]["created"]] == ["Nouveau sujet"]


def test_a_refused_participant_loses_the_interaction_and_the_deleted_one_leaves_every_phone(session):
    participants = [{"user_id": BRUNO, "status": "invited", "invited_at": NOW.isoformat()}]
    _apply(session, feed.apply_interaction, _interaction("reunion", NOW, participants=participants))
    first = _pull(session, BRUNO, None)
    assert _ids(first, "interactions", "created") == {"reunion"}
    assert _ids(first, "participants", "created") == {"reunion:user-bruno"}

    refused = {
        "interaction": {"id": "reunion", "owner_id": ALICE, "start_at": NOW.isoformat()},
        "participant": {"user_id": BRUNO, "status": "refused", "invited_at": NOW.isoformat()},
    }
    _apply(session, feed.apply_participant, refused, False)
    assert _ids(_pull(session, BRUNO, first["timestamp"]), "interactions", "deleted") == {"reunion"}

    alice_first = _pull(session, ALICE, None)
    _apply(session, feed.apply_interaction_deleted, {"id": "reunion"})
    assert _ids(_pull(session, ALICE, alice_first["timestamp"]), "interactions", "deleted") == {"reunion"}


def test_a_contact_arriving_after_the_interaction_that_links_it_still_reaches_the_phone(session):
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, contact_ids=["jeanne"]))
    first = _pull(session, ALICE, None)
    assert _ids(first, "contacts", "created") == set()  # not in the replica yet
    second = _pull(session, ALICE, first["timestamp"])  # a scope nothing changed: not computed again

    _apply(session, feed.apply_contact, _contact("jeanne"), False)
    third = _pull(session, ALICE, second["timestamp"])
    assert _ids(third, "contacts", "created") == {"jeanne"}


def test_an_unchanged_scope_still_answers_edits_links_and_views(session):
    _apply(session, feed.apply_contact, _contact("jeanne"), False)
    _apply(session, feed.apply_contact, _contact("paul"), False)
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, contact_ids=["jeanne"]))
    first = _pull(session, ALICE, None)
    quiet = _pull(session, ALICE, first["timestamp"])
    assert quiet["changes"] == {}

    _apply(session, feed.apply_contact, _contact("jeanne", version=2), False)
    edited = _pull(session, ALICE, quiet["timestamp"])
    assert _ids(edited, "contacts", "updated") == {"jeanne"}

    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 2, contact_ids=["paul"]))
    relinked = _pull(session, ALICE, edited["timestamp"])
    assert (_ids(relinked, "contacts", "created"), _ids(relinked, "contacts", "deleted")) == (
        {"paul"},
        {"jeanne"},
    )

    _apply(session, feed.apply_touch, ALICE, "contacts", "jeanne", NOW)
    viewed = _pull(session, ALICE, relinked["timestamp"])
    assert _ids(viewed, "contacts", "created") == {"jeanne"}


def test_an_archived_interaction_leaves_the_phone_and_comes_back_when_restored_not_after_a_purge(session):
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 1))
    first = _pull(session, ALICE, None)

    _apply(
        session,
        feed.apply_interaction_deleted,
        {**_interaction("visite", NOW, 2), "deleted_at": NOW.isoformat()},
    )
    archived = _pull(session, ALICE, first["timestamp"])
    assert _ids(archived, "interactions", "deleted") == {"visite"}

    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 3))
    restored = _pull(session, ALICE, archived["timestamp"])
    assert _ids(restored, "interactions", "created") == {"visite"}

    _apply(
        session,
        feed.apply_interaction_deleted,
        {**_interaction("visite", NOW, 4), "deleted_at": NOW.isoformat()},
    )
    _apply(session, feed.apply_interaction_deleted, {"id": "visite"}, True)
    _apply(session, feed.apply_interaction, _interaction("visite", NOW, 3))  # a late, older event
    gone = _pull(session, ALICE, restored["timestamp"])
    assert _ids(gone, "interactions", "deleted") == {"visite"}


def test_an_invitation_arriving_before_the_interaction_itself_still_brings_it_to_the_invitee(session):
    invited = {
        "interaction": {"id": "reunion", "owner_id": ALICE, "start_at": NOW.isoformat()},
        "participant": {"user_id": BRUNO, "status": "invited", "invited_at": NOW.isoformat()},
    }
    _apply(session, feed.apply_participant, invited, False)
    # Created before the invitation: its record names no participant yet.
    _apply(session, feed.apply_interaction, _interaction("reunion", NOW))
    assert _ids(_pull(session, BRUNO, None), "interactions", "created") == {"reunion"}


def test_an_answer_handled_before_its_invitation_is_not_undone_by_it(session):
    _apply(session, feed.apply_interaction, _interaction("reunion", NOW))
    invited_at, answered_at = NOW.isoformat(), (NOW + timedelta(minutes=5)).isoformat()
    summary = {"id": "reunion", "owner_id": ALICE, "start_at": NOW.isoformat()}
    confirmed = {
        "user_id": BRUNO,
        "status": "confirmed",
        "invited_at": invited_at,
        "responded_at": answered_at,
    }
    invited = {"user_id": BRUNO, "status": "invited", "invited_at": invited_at}
    _apply(session, feed.apply_participant, {"interaction": summary, "participant": confirmed}, False)
    _apply(session, feed.apply_participant, {"interaction": summary, "participant": invited}, False)
    [participant] = _pull(session, BRUNO, None)["changes"]["participants"]["created"]
    assert participant["status"] == "confirmed"


def test_an_interaction_from_a_mail_brings_its_documents_and_participants_even_redelivered_late(session):
    documents = [
        {
            "id": f"scan-{n}",
            "interaction_id": "courrier",
            "name": f"scan-{n}.pdf",
            "created_at": NOW.isoformat(),
        }
        for n in (1, 2)
    ]
    invited = [{"user_id": BRUNO, "status": "invited", "invited_at": NOW.isoformat()}]
    mail = _interaction("courrier", NOW, documents=documents, participants=invited)
    _apply(session, feed.apply_interaction, mail)
    _apply(session, feed.apply_interaction, {**mail, "version": 2, "subject": "Courrier lu", "documents": []})

    for user in (ALICE, BRUNO):
        answer = _pull(session, user, None)
        assert _ids(answer, "documents", "created") == {"scan-1", "scan-2"}
        assert [i["subject"] for i in answer["changes"]["interactions"]["created"]] == ["Courrier lu"]
    timestamp = _pull(session, BRUNO, None)["timestamp"]
    _apply(session, feed.apply_interaction, mail)  # the creation again, late: older, changes nothing
    assert _pull(session, BRUNO, timestamp)["changes"] == {}
