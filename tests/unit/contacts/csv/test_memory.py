"""What an import job remembers between batches."""

from __future__ import annotations

from services.contacts.csv.memory import BatchOutcome, ImportMemory, KnownCompany


def test_a_real_batch_makes_its_companies_and_interests_known():
    memory = ImportMemory(companies={}, interests={})
    outcome = BatchOutcome(
        new_companies={"pomme magasin": KnownCompany("c1", "Pomme Magasin", "Pomme")},
        new_interests={"comptable": "i1"},
        new_emails={"jeanne@exemple.fr"},
    )

    memory.absorb(outcome, dry_run=False)

    assert memory.companies["pomme magasin"] == KnownCompany("c1", "Pomme Magasin", "Pomme")
    assert memory.interests == {"comptable": ("i1", False)}
    assert memory.planned_emails == set()


def test_a_dry_run_remembers_what_it_would_have_created_as_virtual():
    memory = ImportMemory(companies={}, interests={})
    outcome = BatchOutcome(
        new_companies={"pomme magasin": KnownCompany("c1", "Pomme Magasin", "Pomme")},
        new_interests={"comptable": "i1"},
        new_emails={"jeanne@exemple.fr"},
        new_work_emails={"j.dupont@pomme.fr"},
    )

    memory.absorb(outcome, dry_run=True)

    assert memory.companies["pomme magasin"].virtual
    assert memory.interests == {"comptable": ("i1", True)}
    assert (memory.planned_emails, memory.planned_work_emails) == (
        {"jeanne@exemple.fr"},
        {"j.dupont@pomme.fr"},
    )


def test_outcomes_of_rows_written_one_by_one_add_up():
    total = BatchOutcome(created=1, new_emails={"jeanne@exemple.fr"})

    total.merge(BatchOutcome(created=1, updated=2, new_emails={"zoe@exemple.fr"}))

    assert (total.created, total.updated, total.new_emails) == (2, 2, {"jeanne@exemple.fr", "zoe@exemple.fr"})
