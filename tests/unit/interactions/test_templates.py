"""Templates: tags checked when saved, filled when run; admins define them, everyone runs them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.errors import AdminOnly, InvalidInput, ReadOnlyUser
from services.interactions import templates
from services.interactions.exceptions import TemplateNotFound
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE

VISITE = {
    "name": "Visite client",
    "subject": "Visite {company_name} ({company_id}) – {contact_name} – {user_name} – "
    "{day}/{month}/{year} – n° {counter:04}",
    "type": "meeting",
    "budget": {"amount": "350.00", "currency": "EUR"},
    "duration_minutes": 90,
}


def save(interactions, person=ALICE, **fields) -> dict:
    return interactions.as_user(person).create_template({**VISITE, **fields})


def errors_of(refused: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["field"]: error["message"] for error in refused.value.errors}


@pytest.fixture
def clock(monkeypatch):
    """Runs happen at 03:30 UTC on 1 December 2026: still 30 November in Montréal."""
    moment = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    monkeypatch.setattr(templates, "utcnow", lambda: moment)
    return moment


@pytest.mark.parametrize(
    ("subject", "tag"),
    [
        ("Appel {société}", "{société}"),
        ("Appel {company}", "{company}"),
        ("Devis {year:04}", "{year:04}"),
        ("Devis {counter!r}", "{counter!r}"),
        ("Devis {}", "{}"),
        ("Devis {user_name.__class__}", "{user_name.__class__}"),
    ],
)
def test_an_unknown_tag_is_refused_when_the_template_is_saved(interactions, subject, tag):
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        save(interactions, subject=subject)
    assert tag in errors_of(refused)["subject"]
    assert interactions.footprint() == before


@pytest.mark.parametrize("subject", ["Appel {company_name", "Appel } Pomme", "Appel { Pomme"])
def test_a_lone_brace_is_refused_when_the_template_is_saved(interactions, subject):
    with pytest.raises(InvalidInput) as refused:
        save(interactions, subject=subject)
    assert "{{" in errors_of(refused)["subject"]


def test_an_unknown_tag_is_refused_when_the_subject_is_changed(interactions):
    template = save(interactions)
    with pytest.raises(InvalidInput, match="{client}"):
        interactions.as_user(ALICE).update_template(template["id"], {"subject": "Relance {client}"})
    assert interactions.as_user(BOB).list_templates()[0]["subject"] == VISITE["subject"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"type": "rendez_vous"}, "type"), ({"status": "gagnee"}, "status")],
)
def test_an_unknown_type_or_status_is_refused_when_the_template_is_saved(interactions, fields, field):
    with pytest.raises(InvalidInput) as refused:
        save(interactions, **fields)
    assert field in errors_of(refused)


def test_running_a_template_fills_every_tag(interactions, clock):
    template = save(interactions)
    created = interactions.as_user(BOB).run_template(
        template["id"], {"company_id": SIEGE, "contact_id": JEANNE}
    )
    assert created["subject"] == (
        "Visite Pomme Siège Central (company-siege) – Jeanne Dupont – Bruno Petit – 30/11/2026 – n° 0001"
    )
    assert (created["type"], created["status"], created["owner_id"]) == ("meeting", "planned", BOB.user_id)
    assert (created["start_at"], created["end_at"]) == (
        "2026-12-01T03:30:00+00:00",
        "2026-12-01T05:00:00+00:00",
    )
    assert created["budget"] == {"amount": "350.00", "currency": "EUR"}
    assert (created["company_ids"], created["contact_ids"]) == ([SIEGE], [JEANNE])
    assert interactions.events("interaction_created")[0]["record"]["id"] == created["id"]


def test_the_date_tags_follow_the_running_users_time_zone(interactions, clock):
    template = save(interactions, subject="Point du {day}/{month}/{year}")
    by_bruno = interactions.as_user(BOB).run_template(template["id"], {})
    by_alice = interactions.as_user(ALICE).run_template(template["id"], {})
    assert by_bruno["subject"] == "Point du 30/11/2026"  # America/Montreal
    assert by_alice["subject"] == "Point du 01/12/2026"  # Europe/Paris


def test_the_counter_moves_on_at_each_run_and_an_admin_may_restart_it(interactions):
    template = save(interactions, subject="Facture {counter} / {counter:03}")
    subjects = [interactions.as_user(BOB).run_template(template["id"], {})["subject"] for _ in range(3)]
    assert subjects == ["Facture 1 / 001", "Facture 2 / 002", "Facture 3 / 003"]
    interactions.as_user(ALICE).update_template(template["id"], {"counter": 41})
    assert interactions.as_user(BOB).run_template(template["id"], {})["subject"] == "Facture 42 / 042"
    assert interactions.as_user(BOB).list_templates()[0]["counter"] == 42


def test_a_tag_without_a_value_is_left_empty_and_literal_braces_stay(interactions):
    template = save(interactions, subject="Appel {company_name} {contact_name} – {{urgent}}")
    created = interactions.as_user(BOB).run_template(template["id"], {})
    assert created["subject"] == "Appel – {urgent}"
    assert (created["company_ids"], created["contact_ids"]) == ([], [])


def test_a_run_starts_when_asked_and_takes_the_template_defaults(interactions):
    template = save(
        interactions,
        subject="Facture fournisseur {counter}",
        type="purchase_invoice",
        status="to_pay",
        duration_minutes=None,
        all_day=True,
    )
    created = interactions.as_user(BOB).run_template(
        template["id"], {"start_at": "2026-12-07T00:00:00+01:00", "description": "Livraison de chaises"}
    )
    assert (created["status"], created["all_day"], created["end_at"]) == ("to_pay", True, None)
    assert created["start_at"] == "2026-12-06T23:00:00+00:00"
    assert created["description"] == "Livraison de chaises"


def test_a_refused_run_changes_nothing_not_even_the_counter(interactions):
    template = save(interactions)
    before = interactions.footprint()
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).run_template(template["id"], {"company_id": "company-inconnue"})
    assert "company_id" in errors_of(refused)
    with pytest.raises(InvalidInput) as refused:
        interactions.as_user(BOB).run_template(template["id"], {"project_id": "projet-inconnu"})
    assert "project_id" in errors_of(refused)
    assert interactions.footprint() == before
    assert interactions.as_user(BOB).list_templates()[0]["counter"] == 0


def test_only_admins_define_templates_and_every_writer_runs_them(interactions):
    with pytest.raises(AdminOnly):
        save(interactions, person=BOB)
    with pytest.raises(ReadOnlyUser):
        save(interactions, person=CLAIRE)
    template = save(interactions)
    assert [item["name"] for item in interactions.as_user(CLAIRE).list_templates()] == ["Visite client"]
    with pytest.raises(ReadOnlyUser):
        interactions.as_user(CLAIRE).run_template(template["id"], {})
    with pytest.raises(AdminOnly):
        interactions.as_user(BOB).delete_template(template["id"])
    assert interactions.as_user(BOB).run_template(template["id"], {})["owner_id"] == BOB.user_id


def test_a_template_of_another_org_is_not_found(interactions):
    template = save(interactions)
    assert interactions.as_user(DIANE).list_templates() == []
    with pytest.raises(TemplateNotFound):
        interactions.as_user(DIANE).run_template(template["id"], {})
    with pytest.raises(TemplateNotFound):
        interactions.as_user(DIANE).update_template(template["id"], {"name": "Piratée"})


def test_a_new_type_without_a_status_falls_back_to_the_types_first(interactions):
    template = save(interactions, status="confirmed")
    changed = interactions.as_user(ALICE).update_template(template["id"], {"type": "call"})
    assert (changed["type"], changed["status"]) == ("call", None)
    with pytest.raises(InvalidInput, match="status"):
        interactions.as_user(ALICE).update_template(template["id"], {"status": "confirmed"})


def test_saving_again_with_the_same_id_and_content_is_a_replay(interactions):
    first = save(interactions, id="0192f000-0000-7000-8000-00000000000a")
    again = save(interactions, id="0192f000-0000-7000-8000-00000000000a")
    assert (first["created"], again["created"], again["id"]) == (True, False, first["id"])


def test_a_deleted_template_is_gone_but_its_interactions_stay(interactions):
    template = save(interactions)
    created = interactions.as_user(BOB).run_template(template["id"], {})
    interactions.as_user(ALICE).delete_template(template["id"])
    assert interactions.as_user(BOB).list_templates() == []
    assert interactions.as_user(BOB).get_interaction(created["id"])["subject"].startswith("Visite")
    with pytest.raises(TemplateNotFound):
        interactions.as_user(BOB).run_template(template["id"], {})


def test_rendering_fills_tags_and_never_fails():
    values = templates.tag_values(
        datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        "Europe/Paris",
        7,
        "Alice Martin",
        {"id": SIEGE, "name": "Pomme Siège Central"},
        None,
    )
    assert templates.render("{user_name} {counter:02} {month}", values) == "Alice Martin 07 01"
    assert templates.render("Ancien {modèle", values) == "Ancien {modèle"
    assert templates.render("{inconnu} {company_name}", values) == "{inconnu} Pomme Siège Central"
