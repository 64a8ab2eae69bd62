"""ETag from a record's version, If-Match read and checked, the version it puts in an update."""

from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from crm.validation import StrictInput
from services.gateway.preconditions import (
    ANY,
    PreconditionFailed,
    check_if_match,
    etag_of,
    if_match,
    stale_from,
    with_expected_version,
)


class _CompanyUpdate(StrictInput):
    name: str | None = None
    version: int | None = None


def test_a_record_with_a_version_has_an_etag_and_a_list_has_none():
    assert etag_of({"id": "c1", "name": "Pomme Siège Central", "version": 3}) == '"3"'
    assert etag_of({"items": [], "next_cursor": None}) is None
    assert etag_of({"version": "4.0"}) is None


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, None),
        ("*", ANY),
        ('"3"', frozenset({3})),
        ('W/"3", "4"', frozenset({3, 4})),
        ("0", frozenset({0})),
    ],
)
def test_if_match_is_read_as_the_versions_it_accepts(header, accepted):
    assert if_match(header) == accepted


@pytest.mark.parametrize("header", ['"abc"', "", '"3",', "version 3"])
def test_an_if_match_that_is_not_our_etag_is_refused_naming_the_header(header):
    with pytest.raises(InvalidInput) as refused:
        if_match(header)
    assert refused.value.errors[0]["field"] == "If-Match"


def test_another_version_than_the_records_is_a_precondition_failure():
    with pytest.raises(PreconditionFailed) as refused:
        check_if_match(frozenset({999}), {"id": "c1", "version": 2})
    assert refused.value.errors == [{"field": "If-Match", "message": "stale; current version is 2"}]
    check_if_match(frozenset({2}), {"id": "c1", "version": 2})
    check_if_match(ANY, {"id": "c1"})


def test_a_record_without_a_version_matches_only_the_star():
    with pytest.raises(PreconditionFailed):
        check_if_match(frozenset({1}), {"key": "meeting"})


def test_the_if_match_version_goes_into_an_update_that_names_none():
    assert with_expected_version({"name": "Chambre 404"}, _CompanyUpdate, frozenset({3})) == {
        "name": "Chambre 404",
        "version": 3,
    }
    assert with_expected_version({"name": "x", "version": 2}, _CompanyUpdate, frozenset({3}))["version"] == 2
    assert "version" not in with_expected_version({"name": "x"}, _CompanyUpdate, ANY)


def test_a_stale_version_the_service_found_becomes_a_412_naming_the_current_one():
    assert stale_from("stale; current version is 7").errors[0]["message"] == "stale; current version is 7"
