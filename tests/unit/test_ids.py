"""Identifiers are UUID version 7 strings, in the order they were made, never repeated."""

import uuid

from crm.ids import new_id


def test_ids_are_version_7_uuids_in_the_order_they_were_made():
    ids = [new_id() for _ in range(20_000)]  # several thousand within one millisecond
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for made in ids[::997]:
        parsed = uuid.UUID(made)
        assert str(parsed) == made
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
