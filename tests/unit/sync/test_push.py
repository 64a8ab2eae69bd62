"""A phone's changes as the owners' requests: columns mapped, order kept, refusals named."""

from __future__ import annotations

from crm.errors import InvalidInput, NotFound, ReadOnlyUser, StaleVersion
from services.sync.push import (
    CREATED,
    DELETED,
    UPDATED,
    Applied,
    Change,
    Refusal,
    apply,
    company_fields,
    contact_fields,
    interaction_fields,
    ordered,
)

GARAGE = {
    "id": "phonecompany0001",
    "name": "Garage Martin",
    "group_name": "",
    "street": "3 quai de la Fosse",
    "city": "Nantes",
    "latitude": 47.2184,
    "longitude": -1.5536,
    "tags": '["client"]',
    "_status": "created",
    "_changed": "",
}


def test_a_company_made_on_the_phone_becomes_a_create_with_its_gps_position_and_own_id():
    fields = company_fields(Change("companies", CREATED, GARAGE["id"], GARAGE))
    assert fields["id"] == "phonecompany0001"
    assert fields["group"] is None  # WatermelonDB's empty string is no value
    assert fields["tags"] == ["client"]
    assert fields["address"] == {
        "street": "3 quai de la Fosse",
        "city": "Nantes",
        "position": {"latitude": 47.2184, "longitude": -1.5536, "source": "phone_gps"},
    }
    assert "_status" not in fields and "version" not in fields


def test_an_update_sends_only_the_columns_the_phone_changed_with_the_version_it_holds():
    raw = {**GARAGE, "version": 3, "notes": "Fermé le lundi", "_status": "updated", "_changed": "notes"}
    assert company_fields(Change("companies", UPDATED, raw["id"], raw)) == {
        "notes": "Fermé le lundi",
        "version": 3,
    }


def test_clearing_the_position_on_the_phone_clears_it_on_the_server():
    raw = {"id": "c1", "latitude": None, "longitude": None, "version": 2, "_changed": "latitude,longitude"}
    assert contact_fields(Change("contacts", UPDATED, "c1", raw)) == {
        "address": {"position": None},
        "version": 2,
    }


def test_an_interaction_takes_its_times_from_milliseconds_and_its_links_from_json():
    raw = {
        "id": "v1",
        "subject": "Visite garage",
        "type": "meeting",
        "start_at": 1796556000000,
        "end_at": None,
        "all_day": False,
        "contact_ids": '["c1"]',
        "company_ids": "[]",
        "budget_amount": "1200.50",
        "budget_currency": "EUR",
    }
    fields = interaction_fields(Change("interactions", CREATED, "v1", raw))
    assert fields["start_at"] == "2026-12-06T11:20:00+00:00"
    assert fields["contact_ids"] == ["c1"] and fields["company_ids"] == []
    assert fields["budget"] == {"amount": "1200.50", "currency": "EUR"}
    assert "end_at" not in fields  # a create leaves out what is empty


def test_creates_go_parents_first_and_deletions_children_first():
    changes = {
        "notes": {"created": [{"id": "n1"}], "updated": [], "deleted": []},
        "interactions": {"created": [{"id": "i1"}], "updated": [], "deleted": ["i9"]},
        "contacts": {"created": [{"id": "c1"}], "updated": [{"id": "c2"}], "deleted": ["c9"]},
        "companies": {"created": [{"id": "k1"}], "updated": [], "deleted": ["k9"]},
    }
    plan = [(c.operation, c.record_id) for c in ordered(changes)]
    assert plan == [
        ("created", "k1"),
        ("created", "c1"),
        ("created", "i1"),
        ("created", "n1"),
        ("updated", "c2"),
        ("deleted", "i9"),
        ("deleted", "c9"),
        ("deleted", "k9"),
    ]


def test_each_refusal_names_its_reason():
    def refusing(error):
        def call(*_args):
            raise error

        return call

    change = Change("contacts", UPDATED, "c1", {"id": "c1", "first_name": "Luc"})
    cases = {
        "read_only": ReadOnlyUser("read-only"),
        "not_found": NotFound("no contact c1"),
        "invalid": InvalidInput("email: not an e-mail address"),
        "conflict": StaleVersion("changed since"),
    }
    for reason, error in cases.items():
        refusal = apply(refusing(error), change)
        assert isinstance(refusal, Refusal) and refusal.reason == reason
    assert apply(lambda *_: {"id": "c1", "version": 4}, change) == Applied(4)


def test_read_only_tables_and_changed_notes_are_refused_without_calling_anyone():
    def never(*_args):
        raise AssertionError("no call expected")

    for change in (
        Change("projects", UPDATED, "p1", {"id": "p1"}),
        Change("notes", UPDATED, "n1", {"id": "n1"}),
        Change("users", DELETED, "u1"),
    ):
        refusal = apply(never, change)
        assert isinstance(refusal, Refusal) and refusal.reason == "unsupported"
