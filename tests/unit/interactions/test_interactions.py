"""Interactions, participants, agenda and reports through single workers."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions.exceptions import (
    IdAlreadyUsed,
    InteractionNotFound,
    MultiUserInteractionsOff,
    NotOrganiser,
    ParticipantNotFound,
    StaleVersion,
)
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE

MEETING = {
    "subject": "Réunion chantier Pomme Siège Central",
    "type": "meeting",
    "start_at": "2026-12-01T09:00:00+01:00",
    "end_at": "2026-12-01T10:30:00+01:00",
    "budget": {"amount": "1200.00", "currency": "EUR"},
    "contact_ids": [JEANNE],
    "company_ids": [SIEGE],
}


def create(interactions, person=ALICE, **fields) -> dict:
    return interactions.as_user(person).create_interaction({**MEETING, **fields})


def test_an_interaction_is_created_with_the_first_status_of_its_type(interactions):
    created = create(interactions)
    assert (created["status"], created["owner_id"], created["created"]) == ("planned", ALICE.user_id, True)
    assert created["start_at"] == "2026-12-01T08:00:00+00:00"
    assert created["budget"] == {"amount": "1200.00", "currency": "EUR"}
    assert (created["contact_ids"], created["company_ids"]) == ([JEANNE], [SIEGE])
    assert interactions.events("interaction_created")[0]["record"]["id"] == created["id"]


def test_types_are_seeded_with_sales_stages_and_invoice_lifecycles(interactions):
    types = {row["key"]: row for row in interactions.as_user(BOB).list_types()}
    assert {
        "call",
        "meeting",
        "sales_opportunity",
        "support_ticket",
        "purchase_invoice",
        "sales_invoice",
        "purchase",
        "delivery",
        "task",
        "pending_email",
    } <= set(types)
    assert types["sales_opportunity"]["statuses"][0]["name"] == "Vente – 1 – Prise de contact"
    assert [s["key"] for s in types["purchase_invoice"]["statuses"]][:4] == [
        "to_receive",
        "received",
        "to_pay",
        "paid",
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end_at": "2026-12-01T08:00:00+01:00"}, "end_at"),
        ({"type": "rendez_vous"}, "type"),
        ({"status": "gagnee"}, "status"),
        ({"budget": {"amount": "10.00", "currency": "EUROS"}}, "budget.currency"),
        ({"contact_ids": ["contact-inconnu"]}, "contact_ids.0"),
        ({"owner_id": DIANE.user_id}, "owner_id"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(interactions, fields, field):
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        create(interactions, **fields)
    assert field in [error["field"] for error in refused.value.errors]
    assert interactions.footprint() == before


def test_another_org_cannot_see_an_interaction(interactions):
    created = create(interactions)
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).get_interaction(created["id"])


def test_read_only_users_cannot_create(interactions):
    with pytest.raises(ReadOnlyUser):
        create(interactions, person=CLAIRE)


def test_a_stale_version_is_refused(interactions):
    created = create(interactions)
    interactions.as_user(BOB).update_interaction(created["id"], {"version": 1, "status": "confirmed"})
    with pytest.raises(StaleVersion):
        interactions.as_user(BOB).update_interaction(created["id"], {"version": 1, "status": "done"})


def test_creating_again_with_the_same_id_and_content_is_a_replay(interactions):
    first = create(interactions, id="0192f000-0000-7000-8000-000000000001")
    again = create(interactions, id="0192f000-0000-7000-8000-000000000001")
    assert (again["id"], again["created"]) == (first["id"], False)


def test_creating_again_with_the_same_id_and_another_description_is_a_conflict(interactions):
    create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter les plans")
    with pytest.raises(IdAlreadyUsed):
        create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter le devis")
    again = create(interactions, id="0192f000-0000-7000-8000-000000000002", description="Apporter les plans")
    assert again["created"] is False


@pytest.mark.parametrize("field", ["subject", "type", "status", "start_at", "all_day", "owner_id"])
def test_an_update_cannot_empty_a_field_an_interaction_needs(interactions, field):
    created = create(interactions)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(ALICE).update_interaction(created["id"], {field: None})
    assert [error["field"] for error in refused.value.errors] == [field]


# -- participants ----------------------------------------------------------------------------


def test_participants_need_the_multi_user_setting(interactions):
    created = create(interactions)
    with pytest.raises(MultiUserInteractionsOff, match="multi_user_interactions"):
        interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})


def test_an_invited_user_accepts_and_the_owner_stays_the_organiser(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    invited = interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})
    assert invited["status"] == "invited"
    accepted = interactions.as_user(BOB).respond_to_invitation(created["id"], True)
    assert accepted["status"] == "confirmed"
    shown = interactions.as_user(BOB).get_interaction(created["id"])
    assert shown["owner_id"] == ALICE.user_id
    assert [p["user_id"] for p in shown["participants"]] == [BOB.user_id]
    [event] = interactions.events("participant_confirmed")
    assert (event["actor_id"], event["record"]["interaction"]["owner_id"]) == (BOB.user_id, ALICE.user_id)


def test_only_the_invited_user_refuses_and_a_stranger_cannot_answer(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    interactions.as_user(ALICE).add_participant(created["id"], {"user_id": BOB.user_id})
    with pytest.raises(ParticipantNotFound):
        interactions.as_user(ALICE).respond_to_invitation(created["id"], False)  # Alice was not invited
    with pytest.raises(InteractionNotFound):
        interactions.as_user(DIANE).respond_to_invitation(created["id"], True)
    assert interactions.as_user(BOB).respond_to_invitation(created["id"], False)["status"] == "refused"


def test_a_member_who_is_not_the_organiser_cannot_invite(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    with pytest.raises(NotOrganiser):
        interactions.as_user(BOB).add_participant(created["id"], {"user_id": ALICE.user_id})


def test_a_user_of_another_org_cannot_be_invited(interactions):
    interactions.turn_on(multi_user_interactions=True)
    created = create(interactions)
    with pytest.raises(InvalidInput, match="user_id"):
        interactions.as_user(ALICE).add_participant(created["id"], {"user_id": DIANE.user_id})


# -- agenda and reports ----------------------------------------------------------------------


def test_the_agenda_shows_owned_and_taken_part_interactions_but_not_refused_ones(interactions):
    interactions.turn_on(multi_user_interactions=True)
    mine = create(interactions, person=BOB, subject="Appel Jeanne")
    invited = create(
        interactions, subject="Réunion d'équipe", start_at="2026-12-02T09:00:00+01:00", end_at=None
    )
    refused = create(interactions, subject="Salon", start_at="2026-12-03T09:00:00+01:00", end_at=None)
    create(interactions, subject="Hors période", start_at="2027-01-15T09:00:00+01:00", end_at=None)
    for item in (invited, refused):
        interactions.as_user(ALICE).add_participant(item["id"], {"user_id": BOB.user_id})
    interactions.as_user(BOB).respond_to_invitation(refused["id"], False)
    agenda = interactions.as_user(BOB).get_agenda({"since": "2026-12-01", "until": "2026-12-31"})
    assert [item["id"] for item in agenda] == [mine["id"], invited["id"]]
    both = interactions.as_user(BOB).get_agenda(
        {"since": "2026-12-01", "until": "2026-12-31", "user_ids": f"{ALICE.user_id},{BOB.user_id}"}
    )
    assert len(both) == 3


def test_the_agenda_shows_interactions_that_began_long_before_the_range_and_still_run(interactions):
    interactions.turn_on(multi_user_interactions=True)
    chantier = create(
        interactions,
        person=BOB,
        type="task",
        subject="Chantier Pomme Entrepôts",
        start_at="2026-10-01T08:00:00+02:00",
        end_at="2026-12-10T18:00:00+01:00",
    )
    formation = create(
        interactions,
        subject="Formation longue",
        start_at="2026-11-02T09:00:00+01:00",
        end_at="2026-12-04T17:00:00+01:00",
    )
    interactions.as_user(ALICE).add_participant(formation["id"], {"user_id": BOB.user_id})
    create(  # long, but over before the range
        interactions,
        person=BOB,
        subject="Inventaire",
        start_at="2026-09-01T08:00:00+02:00",
        end_at="2026-11-20T18:00:00+01:00",
    )
    shortened = create(
        interactions,
        person=BOB,
        subject="Audit",
        start_at="2026-10-05T08:00:00+02:00",
        end_at="2026-12-20T18:00:00+01:00",
    )
    interactions.as_user(BOB).update_interaction(
        shortened["id"], {"end_at": "2026-10-06T18:00:00+02:00", "version": shortened["version"]}
    )
    agenda = interactions.as_user(BOB).get_agenda({"since": "2026-12-01", "until": "2026-12-31"})
    assert [item["id"] for item in agenda] == [chantier["id"], formation["id"]]


def test_the_pipeline_sums_budgets_per_company_and_unclosed_invoices_are_listed(interactions):
    create(
        interactions,
        type="sales_opportunity",
        status="proposal",
        budget={"amount": "5000.00", "currency": "EUR"},
    )
    create(interactions, type="sales_opportunity", budget={"amount": "2500.50", "currency": "EUR"})
    create(
        interactions, type="sales_opportunity", status="won", budget={"amount": "9999.00", "currency": "EUR"}
    )
    pipeline = interactions.as_user(BOB).sales_pipeline({})
    assert pipeline["companies"] == [
        {
            "company_id": SIEGE,
            "company": {"id": SIEGE, "name": "Pomme Siège Central", "group": "Pomme", "deleted": False},
            "interactions": 2,
            "budgets": [{"amount": "7500.50", "currency": "EUR"}],
        }
    ]
    create(interactions, type="purchase_invoice", subject="Facture fournisseur 42")
    create(interactions, type="sales_invoice", status="paid", subject="Facture client 7")
    invoices = interactions.as_user(BOB).unclosed_invoices()
    assert [item["subject"] for item in invoices["purchase"]] == ["Facture fournisseur 42"]
    assert invoices["sales"] == []


def test_a_pending_email_becomes_an_interaction_with_its_attachments(interactions):
    created = interactions.system().create_pending_email(
        {
            "org_id": "org-pomme",
            "owner_id": BOB.user_id,
            "subject": "Scan facture",
            "received_at": "2026-11-22T10:00:00+00:00",
            "sender": "scanner@pomme.fr",
            "attachments": [
                {
                    "name": "facture.pdf",
                    "blob_hash": "a" * 64,
                    "size": 1234,
                    "content_type": "application/pdf",
                }
            ],
        }
    )
    assert (created["type"], created["status"], created["owner_id"]) == (
        "pending_email",
        "to_process",
        BOB.user_id,
    )
    assert interactions.count("documents") == 1
