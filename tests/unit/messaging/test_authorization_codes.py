"""SMS authorization codes: issued by an admin, shown once, kept hashed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.errors import AdminOnly
from services.accounts.exceptions import UserNotFound
from services.messaging.authorization_codes import code_hash
from services.messaging.models import AuthorizationCode
from tests.people import ALICE, BOB, DIANE


def test_a_code_is_shown_once_and_kept_hashed(messaging):
    issued = messaging.as_user(ALICE).issue_authorization_code({"user_id": BOB.user_id, "label": "Terrain"})
    assert len(issued["code"].replace("-", "")) == 12
    listed = messaging.as_user(ALICE).list_authorization_codes()
    assert [code["id"] for code in listed] == [issued["id"]]
    assert "code" not in listed[0]
    with messaging.db.read() as session:
        stored = session.scalars(select(AuthorizationCode.code_hash)).all()
    assert stored == [code_hash(issued["code"])]
    assert issued["code"] not in stored


def test_a_code_for_a_user_of_another_org_is_not_found(messaging):
    with pytest.raises(UserNotFound):
        messaging.as_user(ALICE).issue_authorization_code({"user_id": DIANE.user_id})


def test_members_cannot_issue_codes(messaging):
    with pytest.raises(AdminOnly):
        messaging.as_user(BOB).issue_authorization_code({"user_id": BOB.user_id})
