"""sync's copy of which calendar token opens whose feed: accounts' announcements, in any order
and more than once, leave the newest; a rotated or deactivated user's token opens nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.sync.calendar_tokens import apply_token, owner_of, token_hash
from services.sync.models import Base

OLD, NEW = "cal_ancien-jeton-de-bruno", "cal_nouveau-jeton-de-bruno"
BRUNO = {"user_id": "bruno", "org_id": "pomme"}


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def announced(token: str | None, changed_at: str, version: int = 1) -> dict:
    return {
        **BRUNO,
        "token_hash": token_hash(token) if token else None,
        "changed_at": f"2026-12-07T08:00:{changed_at}+00:00",
        "version": version,
    }


def test_a_rotated_token_opens_nothing_and_the_new_one_opens_the_users_feed(session):
    apply_token(session, announced(OLD, "01"))
    assert owner_of(session, OLD) == BRUNO

    apply_token(session, announced(NEW, "02"))

    assert owner_of(session, OLD) is None
    assert owner_of(session, NEW) == BRUNO


def test_a_rotation_heard_before_the_older_announcement_keeps_the_new_token(session):
    apply_token(session, announced(NEW, "02"))
    apply_token(session, announced(OLD, "01"))
    apply_token(session, announced(NEW, "02"))  # delivered twice

    assert owner_of(session, OLD) is None
    assert owner_of(session, NEW) == BRUNO


def test_deactivation_closes_the_feed_until_reactivation_whatever_the_order(session):
    apply_token(session, announced(NEW, "02", version=3))
    apply_token(session, announced(None, "02", version=4))  # deactivated
    apply_token(session, announced(NEW, "02", version=3))  # late
    assert owner_of(session, NEW) is None

    apply_token(session, announced(NEW, "02", version=5))  # reactivated
    assert owner_of(session, NEW) == BRUNO


def test_a_token_never_announced_is_unknown(session):
    apply_token(session, announced(NEW, "02"))
    assert owner_of(session, "cal_" + "x" * 32) is None
