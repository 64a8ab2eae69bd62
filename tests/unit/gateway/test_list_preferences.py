"""How a list request uses the caller's remembered sort and filters (pure planning, no RPC)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.validation import validate
from services.gateway.list_preferences import COMPANIES, CONTACTS, INTERACTIONS, PROJECTS, plan_list
from services.gateway.schemas import (
    CompanyListQuery,
    ContactListQuery,
    InteractionListRequest,
    ProjectListRequest,
)


class Remembered:
    """Stands for ``accounts.get_my_preferences``; counts the calls."""

    def __init__(self, **lists: dict[str, Any]):
        self.document = {"lists": lists, "language": None}
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.document


def test_contacts_without_sort_use_the_remembered_sort_and_say_so():
    remembered = Remembered(contacts={"sort": "first_name", "direction": "desc"})

    plan = plan_list(validate(ContactListQuery, {"q": "Dupont"}), CONTACTS, remembered)

    assert plan.arguments == {"q": "Dupont", "sort": "first_name", "direction": "desc", "limit": 50}
    assert plan.sort == {"field": "first_name", "direction": "desc", "source": "preferences"}
    assert remembered.calls == 1


def test_an_explicit_sort_wins_and_reads_no_preferences():
    remembered = Remembered(contacts={"sort": "first_name", "direction": "desc"})

    plan = plan_list(validate(ContactListQuery, {"sort": "email"}), CONTACTS, remembered)

    assert (plan.arguments["sort"], plan.arguments["direction"]) == ("email", "asc")
    assert plan.sort == {"field": "email", "direction": "asc", "source": "request"}
    assert remembered.calls == 0


def test_a_direction_alone_keeps_the_remembered_field():
    remembered = Remembered(companies={"sort": "city", "direction": "desc"})

    plan = plan_list(validate(CompanyListQuery, {"direction": "asc"}), COMPANIES, remembered)

    assert plan.sort == {"field": "city", "direction": "asc", "source": "preferences"}


def test_nothing_remembered_is_the_lists_own_default():
    plan = plan_list(validate(CompanyListQuery, {}), COMPANIES, Remembered())

    assert plan.sort == {"field": "name", "direction": "asc", "source": "default"}
    assert (plan.arguments["sort"], plan.arguments["direction"]) == ("name", "asc")


def test_use_preferences_false_ignores_them_without_reading_them():
    remembered = Remembered(contacts={"sort": "first_name"})

    plan = plan_list(validate(ContactListQuery, {"use_preferences": "false"}), CONTACTS, remembered)

    assert plan.sort == {"field": "last_name", "direction": "asc", "source": "default"}
    assert "use_preferences" not in plan.arguments
    assert remembered.calls == 0


def test_near_orders_by_distance_whatever_is_remembered():
    remembered = Remembered(contacts={"sort": "first_name"})

    plan = plan_list(validate(ContactListQuery, {"near": "48.85,2.35"}), CONTACTS, remembered)

    assert plan.sort == {"field": "distance_m", "direction": "asc", "source": "request"}
    assert "sort" not in plan.arguments
    assert remembered.calls == 0


def test_interactions_without_filter_take_the_remembered_filters():
    remembered = Remembered(interactions={"user_id": "bob", "type": "call", "status": None})

    plan = plan_list(validate(InteractionListRequest, {"limit": "10"}), INTERACTIONS, remembered)

    assert plan.arguments == {"limit": 10, "user_id": "bob", "type": "call"}
    assert plan.remembered_filters == {"user_id": "bob", "type": "call"}
    assert plan.sort == {"field": "id", "direction": "desc", "source": "default"}


@pytest.mark.parametrize("query", [{"contact_id": "c-1"}, {"archived": "true"}, {"use_preferences": "false"}])
def test_a_named_filter_or_opting_out_leaves_remembered_filters_aside(query):
    remembered = Remembered(interactions={"user_id": "bob", "type": None, "status": None})

    plan = plan_list(validate(InteractionListRequest, query), INTERACTIONS, remembered)

    assert "user_id" not in plan.arguments
    assert plan.remembered_filters == {}
    assert remembered.calls == 0


def test_projects_take_the_remembered_user():
    remembered = Remembered(projects={"user_id": "bob"})

    plan = plan_list(validate(ProjectListRequest, {}), PROJECTS, remembered)

    assert plan.arguments == {"limit": 50, "user_id": "bob"}
    assert plan.annotate({"items": [], "next_cursor": None}) == {
        "items": [],
        "next_cursor": None,
        "sort": {"field": "id", "direction": "desc", "source": "default"},
        "remembered_filters": {"user_id": "bob"},
    }


def test_archived_contacts_keep_the_remembered_sort():
    remembered = Remembered(contacts={"sort": "email", "direction": None})

    plan = plan_list(validate(ContactListQuery, {"archived": "true"}), CONTACTS, remembered)

    assert plan.arguments["archived"] is True
    assert plan.sort == {"field": "email", "direction": "asc", "source": "preferences"}
