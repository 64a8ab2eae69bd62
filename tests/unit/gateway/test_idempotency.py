"""Idempotency-Key: the same key of the same caller on the same route names the same record."""

from __future__ import annotations

import jwt
import pytest

from crm.errors import InvalidInput
from crm.validation import StrictInput
from services.gateway.idempotency import caller_scope, key_of, record_id, takes_id, with_record_id


class _ContactCreate(StrictInput):
    id: str | None = None
    first_name: str


def _token(org: str, user: str) -> str:
    return jwt.encode({"org": org, "sub": user}, "not checked here", algorithm="HS256")


def test_a_retry_names_the_same_record_and_another_key_another_one():
    scope = caller_scope(_token("pomme", "alice"))
    first = record_id(scope, "/api/v1/contacts", "b1c9-retry")
    assert record_id(scope, "/api/v1/contacts", "b1c9-retry") == first
    assert record_id(scope, "/api/v1/contacts", "autre") != first
    assert record_id(scope, "/api/v1/companies", "b1c9-retry") != first


def test_the_key_is_scoped_by_organisation_and_user_not_by_token():
    alice = caller_scope(_token("pomme", "alice"))
    assert caller_scope(_token("pomme", "alice")) == alice
    assert caller_scope(_token("pomme", "bruno")) != alice
    assert caller_scope(_token("poire", "alice")) != alice
    assert caller_scope("crm_api_token") == caller_scope("crm_api_token") != alice


def test_the_derived_id_goes_into_a_create_that_names_none():
    assert with_record_id({"first_name": "Zoé"}, _ContactCreate, "c1") == {"first_name": "Zoé", "id": "c1"}
    assert with_record_id({"first_name": "Zoé", "id": "mine"}, _ContactCreate, "c1")["id"] == "mine"
    assert with_record_id({"first_name": "Zoé"}, _ContactCreate, None) == {"first_name": "Zoé"}
    assert takes_id(_ContactCreate) and not takes_id(None)


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 201])
def test_a_key_that_is_not_printable_ascii_is_refused_naming_the_header(key):
    with pytest.raises(InvalidInput) as refused:
        key_of({"Idempotency-Key": key})
    assert refused.value.errors[0]["field"] == "Idempotency-Key"
