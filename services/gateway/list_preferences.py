"""A list answers in the order, and with the filters, its caller remembered (``/me/preferences``)
when the request names none, and says in its page which sort it used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

# Parameters that page or opt out, not filters: naming them keeps the remembered filters.
_NOT_FILTERS = frozenset({"limit", "cursor", "use_preferences", "sort", "direction"})


@dataclass(frozen=True)
class ListDefaults:
    """What a list does when neither the request nor the caller's preferences say."""

    name: str  # its key under ``lists`` in the preferences document
    sort: str
    direction: str
    sortable: bool = True  # False: one fixed order, which preferences cannot change
    filters: tuple[str, ...] = ()  # the parameters preferences may give a default
    ordering: tuple[str, ...] = ()  # parameters that impose their own order (``near``)
    ordering_field: str = ""


CONTACTS = ListDefaults("contacts", "last_name", "asc", ordering=("near",), ordering_field="distance_m")
COMPANIES = ListDefaults("companies", "name", "asc", ordering=("near",), ordering_field="distance_m")
# The interactions service lists these by time-ordered id, newest first, and by nothing else yet.
INTERACTIONS = ListDefaults(
    "interactions", "id", "desc", sortable=False, filters=("user_id", "type", "status")
)
PROJECTS = ListDefaults("projects", "id", "desc", sortable=False, filters=("user_id",))


@dataclass
class ListPlan:
    """The service call a list request makes, and what its page says of it."""

    arguments: dict[str, Any]
    sort: dict[str, str]
    remembered_filters: dict[str, str] = field(default_factory=dict)

    def annotate(self, page: dict[str, Any]) -> dict[str, Any]:
        return {**page, "sort": self.sort, "remembered_filters": self.remembered_filters}


def plan_list(
    query: BaseModel, defaults: ListDefaults, read_preferences: Callable[[], dict[str, Any]]
) -> ListPlan:
    """The service arguments for ``query``: the request's own sort and filters win; what it
    leaves out comes from the caller's preferences (read only then), then the list's default.

    Remembered filters apply only to a request that names no filter at all, so that a
    contact's page asking for its interactions is not narrowed to "mine" behind its back.
    ``use_preferences=false`` asks for the list as if nothing were remembered.
    """
    given = query.model_fields_set
    use = getattr(query, "use_preferences", True)
    arguments = query.model_dump(mode="json", exclude_none=True, exclude={"use_preferences"})
    ordered_by_request = bool(given & set(defaults.ordering))
    wants_sort = use and defaults.sortable and "sort" not in given and not ordered_by_request
    wants_filters = use and bool(defaults.filters) and not (given - _NOT_FILTERS)
    remembered: dict[str, Any] = {}
    if wants_sort or wants_filters:
        remembered = read_preferences().get("lists", {}).get(defaults.name) or {}

    plan = ListPlan(arguments, _sort_used(query, defaults, remembered if wants_sort else {}))
    if defaults.sortable and ordered_by_request:
        plan.sort = {"field": defaults.ordering_field, "direction": "asc", "source": "request"}
    elif defaults.sortable:
        arguments["sort"], arguments["direction"] = plan.sort["field"], plan.sort["direction"]
    if wants_filters:
        for name in defaults.filters:
            if remembered.get(name) is not None:
                arguments[name] = plan.remembered_filters[name] = remembered[name]
    return plan


def _sort_used(query: Any, defaults: ListDefaults, remembered: dict[str, Any]) -> dict[str, str]:
    """The sort field and direction, and where the field came from."""
    if not defaults.sortable:
        return {"field": defaults.sort, "direction": defaults.direction, "source": "default"}
    given = query.model_fields_set
    if "sort" in given:
        field_, source = query.sort, "request"
    elif remembered.get("sort"):
        field_, source = remembered["sort"], "preferences"
    else:
        field_, source = defaults.sort, "default"
    if "direction" in given:
        direction = query.direction
    else:
        direction = (None if source == "request" else remembered.get("direction")) or defaults.direction
        if source == "default" and remembered.get("direction"):
            source = "preferences"
    return {"field": field_, "direction": direction, "source": source}
