"""The address book's resources and paths, sync tokens, vCard versions and answer pages."""

from __future__ import annotations

import pytest

from services.gateway import carddav_resources as res
from services.gateway.dav_xml import dav

ALICE = "0192f5a0-0000-7000-8000-00000000a11c"
BOOK = res.Resource("book", ALICE)


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("", res.Resource("root")),
        (f"principals/{ALICE}/", res.Resource("principal", ALICE)),
        (f"addressbooks/{ALICE}", res.Resource("home", ALICE)),
        (f"addressbooks/{ALICE}/contacts/", BOOK),
        (f"addressbooks/{ALICE}/contacts/c-1.vcf", res.Resource("card", ALICE, "c-1")),
        (f"addressbooks/{ALICE}/contacts/c-1.ics", None),
        (f"addressbooks/{ALICE}/other/", None),
        (f"addressbooks/{ALICE}/contacts/a/b.vcf", None),
        ("addressbooks/../contacts/", None),
        ("principals/", None),
    ],
)
def test_paths_resolve_to_their_resources(rest, expected):
    assert res.resolve(rest) == expected


def test_a_resources_path_resolves_back_to_it():
    for resource in (res.Resource("principal", ALICE), BOOK, res.Resource("card", ALICE, "c-1")):
        assert res.resolve(resource.path.removeprefix(res.ROOT)) == resource


def test_a_multiget_href_names_a_card_of_this_book_only():
    card = f"/dav/addressbooks/{ALICE}/contacts/c-1.vcf"

    assert res.card_of_href(card, BOOK) == "c-1"
    assert res.card_of_href(f"https://crm.pomme.fr{card}", BOOK) == "c-1"
    assert res.card_of_href("/dav/addressbooks/someone-else/contacts/c-1.vcf", BOOK) is None
    assert res.card_of_href("/api/v1/contacts/c-1", BOOK) is None


def test_a_sync_token_names_a_sequence_and_nothing_else_is_one():
    assert res.since_of(res.sync_token(42)) == 42
    assert res.since_of("") is None
    for foreign in (
        "42",
        "urn:crm:sync:",
        "urn:crm:sync:-1",
        "http://example.com/ns/sync/42",
        "urn:crm:sync:4 2",
    ):
        with pytest.raises(ValueError):
            res.since_of(foreign)


@pytest.mark.parametrize(
    ("accept", "asked", "version"),
    [
        (None, None, "3.0"),
        ("*/*", None, "3.0"),
        ("text/vcard", None, "3.0"),
        ("text/vcard; version=4.0", None, "4.0"),
        ('text/vcard;version="4.0", text/vcard;version=3.0', None, "4.0"),
        ("text/vcard;version=4.0;q=0.5, text/vcard;version=3.0", None, "3.0"),
        ("text/vcard;version=4.0;q=0", None, "3.0"),
        ("text/vcard; version=4.0", "3.0", "3.0"),
    ],
)
def test_the_vcard_version_asked_for(accept, asked, version):
    assert res.vcard_version(accept, asked) == version


def _entries(*stamps: int) -> list[tuple[str, int, bool]]:
    return [(f"c-{index}", stamp, False) for index, stamp in enumerate(stamps)]


def test_a_long_answer_is_cut_between_two_stamps():
    assert res.first_page(_entries(1, 2, 3), None) == (_entries(1, 2, 3), None)
    assert res.first_page(_entries(1, 2, 3), 3) == (_entries(1, 2, 3), None)
    assert res.first_page(_entries(1, 2, 3, 4), 2) == (_entries(1, 2), 2)
    # A stamp shared by cards (a company renamed) is never split: the page ends before it...
    assert res.first_page(_entries(1, 2, 2, 2, 3), 3) == (_entries(1), 1)
    # ...or, when it alone is over the limit, takes it whole.
    page, token = res.first_page(_entries(5, 5, 5, 6), 2)
    assert (page, token) == (_entries(5, 5, 5), 5)
    assert res.first_page(_entries(5, 5, 5), 2) == (_entries(5, 5, 5), None)


def test_the_book_says_it_is_a_read_only_address_book_with_a_sync_token():
    found = res.collection_properties(BOOK, res.BookState(ALICE, 42))

    assert [child.tag for child in found[res.RESOURCETYPE]] == [
        dav("collection"),
        "{urn:ietf:params:xml:ns:carddav}addressbook",
    ]
    assert found[dav("sync-token")] == found["{http://calendarserver.org/ns/}getctag"] == "urn:crm:sync:42"
    privileges = [privilege[0].tag for privilege in found[dav("current-user-privilege-set")]]
    assert privileges == [dav("read"), dav("read-current-user-privilege-set")]


def test_what_a_propfind_asked_for_and_what_is_missing():
    found = res.card_properties(7)

    assert res.chosen(found, "prop", (res.GETETAG, "{urn:x}color")) == (
        {res.GETETAG: '"7"'},
        ["{urn:x}color"],
    )
    assert res.chosen(found, "propname", ())[0] == dict.fromkeys(found)
    assert res.chosen(found, "allprop", ())[0] == found
