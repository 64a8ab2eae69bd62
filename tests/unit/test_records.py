"""crm.records: scoped lookup, replay-or-conflict create, version check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crm.errors import Conflict, IdAlreadyUsed, NotFound, StaleVersion
from crm.records import check_version, has_values, id_already_used, record_of, replayed
from crm.times import UtcDateTime


class Base(DeclarativeBase):
    pass


class Room(Base):
    __tablename__ = "room"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    org_id: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(default=1)


class RoomNotFound(NotFound):
    title = "Room not found"


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Room(id="chambre-404", org_id="pomme", name="Chambre 404", version=3))
        session.add(
            Room(id="salle-ancienne", org_id="pomme", name="Salle Ancienne", deleted_at=datetime.now(UTC))
        )
        session.commit()
        yield session
    engine.dispose()


def test_a_record_of_the_organisation_is_found(session):
    assert record_of(session, Room, "pomme", "chambre-404", RoomNotFound, "room").name == "Chambre 404"


def test_a_locked_lookup_finds_the_same_record(session):
    assert (
        record_of(session, Room, "pomme", "chambre-404", RoomNotFound, "room", lock=True).id == "chambre-404"
    )


@pytest.mark.parametrize(
    ("org_id", "room_id"),
    [("poire", "chambre-404"), ("pomme", "chambre-999"), ("pomme", "salle-ancienne"), ("pomme", 404)],
)
def test_another_organisations_a_deleted_or_an_unknown_record_is_not_found(session, org_id, room_id):
    with pytest.raises(RoomNotFound, match=f"no room {room_id}"):
        record_of(session, Room, org_id, room_id, RoomNotFound, "room")


def test_a_deleted_record_is_found_when_asked_for(session):
    found = record_of(session, Room, "pomme", "salle-ancienne", RoomNotFound, "room", with_deleted=True)
    assert found.name == "Salle Ancienne"


def _named(name):
    return lambda room: room.name == name


def test_a_create_without_id_or_with_a_new_id_replays_nothing(session):
    assert replayed(session, Room, None, "pomme", _named("Chambre 404")) is None
    assert replayed(session, Room, "chambre-405", "pomme", _named("Chambre 405")) is None


def test_the_same_id_with_the_same_content_is_a_replay(session):
    assert replayed(session, Room, "chambre-404", "pomme", _named("Chambre 404")).id == "chambre-404"


@pytest.mark.parametrize(
    ("room_id", "org_id", "name"),
    [
        ("chambre-404", "pomme", "Chambre 405"),
        ("chambre-404", "poire", "Chambre 404"),
        ("salle-ancienne", "pomme", "Salle Ancienne"),
    ],
)
def test_a_used_id_with_other_content_in_another_organisation_or_deleted_is_a_conflict(
    session, room_id, org_id, name
):
    with pytest.raises(IdAlreadyUsed) as raised:
        replayed(session, Room, room_id, org_id, _named(name), field="room_id")
    assert isinstance(raised.value, Conflict)
    assert raised.value.errors[0]["field"] == "room_id"


def test_the_id_conflict_names_the_field_and_says_why():
    conflict = id_already_used("job-1", message="already used by an import of another file", what="import")
    assert conflict.detail == "id: job-1 is already used by another import"
    assert conflict.errors == [{"field": "id", "message": "already used by an import of another file"}]


def test_no_version_or_the_current_version_passes(session):
    room = session.get(Room, "chambre-404")
    check_version(room, None, "room")
    check_version(room, 3, "room")


def test_a_stale_version_is_a_conflict_naming_version(session):
    with pytest.raises(StaleVersion) as raised:
        check_version(session.get(Room, "chambre-404"), 2, "room")
    assert isinstance(raised.value, Conflict)
    assert raised.value.detail == "version: room chambre-404 is at version 3, not 2"
    assert raised.value.errors == [{"field": "version", "message": "stale; current version is 3"}]


def test_has_values_compares_the_named_attributes_only(session):
    room = session.get(Room, "chambre-404")
    assert has_values(room, {"name": "Chambre 404", "org_id": "pomme"})
    assert not has_values(room, {"name": "Chambre 405"})
