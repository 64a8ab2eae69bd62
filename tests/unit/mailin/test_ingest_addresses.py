"""mailin's copy of the ingest addresses: events and snapshot in any order give the newest state."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.mailin import ingest_addresses
from services.mailin.models import Base, IngestAddress


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def address(local_part: str, changed_at: str, version: int = 1, active: bool = True) -> dict:
    return {
        "user_id": "claire",
        "org_id": "pomme",
        "local_part": local_part,
        "active": active,
        "changed_at": changed_at,
        "version": version,
    }


def test_a_rotation_heard_before_the_older_address_keeps_the_new_one(session):
    ingest_addresses.apply_address(session, address("unew", "2026-12-06T08:00:02+00:00"))
    ingest_addresses.apply_address(session, address("UOLD", "2026-12-06T08:00:01+00:00"))
    row = session.get(IngestAddress, "claire")
    assert row.local_part == "unew"


def test_deactivation_wins_over_an_older_snapshot_line_and_reactivation_over_it(session):
    ingest_addresses.apply_address(session, address("uclaire", "2026-12-06T08:00:00+00:00", version=1))
    ingest_addresses.apply_user(session, {"id": "claire", "org_id": "pomme", "active": False, "version": 3})
    ingest_addresses.apply_snapshot(session, [address("uclaire", "2026-12-06T08:00:00+00:00", version=2)])
    assert session.get(IngestAddress, "claire").active is False
    ingest_addresses.apply_user(session, {"id": "claire", "org_id": "pomme", "active": True, "version": 4})
    assert session.get(IngestAddress, "claire").active is True


def test_a_user_heard_of_before_their_address_takes_no_mail_until_it_arrives(session):
    ingest_addresses.apply_user(session, {"id": "claire", "org_id": "pomme", "active": True, "version": 1})
    assert session.get(IngestAddress, "claire").local_part is None
    ingest_addresses.apply_address(session, address("uclaire", "2026-12-06T08:00:00+00:00"))
    assert session.get(IngestAddress, "claire").local_part == "uclaire"
