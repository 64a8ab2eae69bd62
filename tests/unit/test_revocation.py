"""The deny state every process keeps: revoked sessions and users whose access changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.auth import Caller
from crm.errors import ServiceUnavailable, Unauthenticated
from crm.revocation import CLOCK_SKEW_SECONDS, DenyState

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
TTL = 900


def bruno(**claims) -> Caller:
    fields = dict(
        user_id="u-bruno",
        org_id="org-pomme",
        role="admin",
        read_only=False,
        session_id="s-bruno-phone",
        expires_at=int(NOW.timestamp()) + TTL,
        user_version=3,
    )
    return Caller(**{**fields, **claims})


def user_record(version: int, **access) -> dict:
    return {
        "id": "u-bruno",
        "version": version,
        "role": "admin",
        "read_only": False,
        "active": True,
        "updated_at": NOW.isoformat(),
        **access,
    }


@pytest.fixture
def clock():
    moments = [NOW.timestamp()]

    def now() -> float:
        return moments[0]

    now.moments = moments
    return now


@pytest.fixture
def state(clock) -> DenyState:
    deny = DenyState(TTL, clock=clock)
    deny.loaded = True
    return deny


def test_a_process_that_does_not_know_the_revocations_yet_refuses_everyone(clock):
    with pytest.raises(ServiceUnavailable, match="revoked"):
        DenyState(TTL, clock=clock).admit(bruno())


def test_a_signed_out_session_is_refused_and_other_sessions_are_not(state):
    state.apply_event(
        "sessions_revoked",
        {"user_id": "u-bruno", "session_ids": ["s-bruno-phone"], "revoked_at": NOW.isoformat()},
    )
    with pytest.raises(Unauthenticated, match="signed out"):
        state.admit(bruno())
    assert state.admit(bruno(session_id="s-bruno-laptop")).user_id == "u-bruno"


def test_a_deactivated_user_is_refused_whatever_the_session(state):
    state.apply_event("user_deactivated", user_record(4, active=False))
    with pytest.raises(Unauthenticated, match="deactivated"):
        state.admit(bruno(session_id="s-any"))


def test_a_user_just_made_read_only_acts_read_only_with_an_older_token(state):
    state.apply_event("user_updated", user_record(4, read_only=True))
    admitted = state.admit(bruno())
    assert admitted.read_only is True
    assert admitted.role == "admin"


def test_an_admin_just_demoted_acts_as_a_member_with_an_older_token(state):
    state.apply_event("user_updated", user_record(4, role="member"))
    assert state.admit(bruno()).role == "member"
    assert not state.admit(bruno()).is_admin


def test_a_token_issued_after_the_change_speaks_for_itself(state):
    state.apply_event("user_updated", user_record(4, read_only=True))
    state.apply_event("user_updated", user_record(5, read_only=False))
    # A token of version 5 carries what the user is now; the state agrees anyway.
    assert state.admit(bruno(user_version=5)).read_only is False
    assert state.admit(bruno(user_version=3)).read_only is False


def test_a_change_of_name_alone_gives_the_caller_the_users_new_version(state):
    # What a process keeps of the caller by version (a note's stamp) must not outlive a rename.
    state.apply_event("user_updated", user_record(4))
    admitted = state.admit(bruno())
    assert (admitted.user_version, admitted.role, admitted.read_only) == (4, "admin", False)
    assert state.admit(bruno(user_version=5)).user_version == 5


def test_an_older_change_arriving_late_does_not_undo_a_newer_one(state):
    state.apply_event("user_updated", user_record(5, read_only=False))
    state.apply_event("user_updated", user_record(4, read_only=True))
    assert state.admit(bruno()).read_only is False


def test_the_snapshot_and_the_events_give_the_same_state_in_any_order(clock):
    event = (
        "sessions_revoked",
        {"user_id": "u-bruno", "session_ids": ["s-1"], "revoked_at": NOW.isoformat()},
    )
    snapshot = {
        "sessions": [{"session_id": "s-2", "revoked_at": NOW.isoformat()}],
        "users": [user_record(4, role="member")],
    }
    first, second = DenyState(TTL, clock=clock), DenyState(TTL, clock=clock)
    first.apply_event(*event)
    first.apply_snapshot(snapshot)
    second.apply_snapshot(snapshot)
    second.apply_event(*event)
    second.apply_event(*event)  # an event delivered twice
    for deny in (first, second):
        deny.loaded = True
        for session_id in ("s-1", "s-2"):
            with pytest.raises(Unauthenticated):
                deny.admit(bruno(session_id=session_id))
        assert deny.admit(bruno(session_id="s-3")).role == "member"
        assert len(deny) == 3


def test_an_entry_is_forgotten_once_every_token_issued_before_it_has_expired(state, clock):
    state.apply_event(
        "sessions_revoked",
        {"user_id": "u-bruno", "session_ids": ["s-bruno-phone"], "revoked_at": NOW.isoformat()},
    )
    state.apply_event("user_updated", user_record(4, role="member"))
    clock.moments[0] = (NOW + timedelta(seconds=TTL + CLOCK_SKEW_SECONDS - 1)).timestamp()
    with pytest.raises(Unauthenticated):
        state.admit(bruno())
    clock.moments[0] = (NOW + timedelta(seconds=TTL + CLOCK_SKEW_SECONDS + 61)).timestamp()
    state.admit(bruno(session_id="s-other"))  # prunes
    assert len(state) == 0
