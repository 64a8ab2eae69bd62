"""IMAP "check inbox" through the real doors: a user adds a mailbox over HTTP, tests it, and has
the CRM check it against a real Dovecot; `crm run`'s mailin process reads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.mailin.imap.fetch import IMPORTED_FLAG
from tests.dovecot import dovecot, message  # noqa: F401  (dovecot: the session's server)
from tests.e2e.conftest import create_user, unique
from tests.e2e.test_mail_pending import pending_with

pytestmark = pytest.mark.e2e


@pytest.fixture
def trusted_dovecot(system, dovecot):  # noqa: F811
    """The session's Dovecot, its certificate trusted by the system's mailin (mailin.imap_ca_file)."""
    shutil.copyfile(dovecot.ca_file, Path(system.settings.mailin.imap_ca_file))
    return dovecot


def test_a_user_adds_tests_and_checks_an_imap_mailbox(system, org, trusted_dovecot):
    server = trusted_dovecot
    imap_user = server.new_user()
    bruno = system.login(create_user(org["admin"])["email"])
    body = {
        "name": "Scanner du 3e",
        "host": server.host,
        "port": server.tls_port,
        "security": "tls",
        "username": imap_user.name,
        "password": imap_user.password,
    }
    answers = []

    refused = bruno.post("/api/v1/mailboxes", json={**body, "security": "none"})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["security"]
    refused = bruno.post("/api/v1/mailboxes", json={**body, "after_import": "move"})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["move_to"]

    created = bruno.post("/api/v1/mailboxes", json=body)
    assert created.status_code == 201, created.text
    mailbox = created.json()
    answers.append(created.text)
    assert created.headers["Location"] == f"/api/v1/mailboxes/{mailbox['id']}"
    url = f"/api/v1/mailboxes/{mailbox['id']}"

    tested = bruno.post(f"{url}/test")
    answers.append(tested.text)
    assert (tested.status_code, tested.json()) == (
        200,
        {"ok": True, "error_code": None, "error": None, "messages": 0},
    )
    wrong = bruno.patch(url, json={"password": "pas-le-bon"})
    answers.append(wrong.text)
    assert wrong.status_code == 200
    tested = bruno.post(f"{url}/test").json()
    assert (tested["ok"], tested["error_code"]) == (False, "auth_failed")
    assert "refused the user name or password" in tested["error"]
    missing = bruno.patch(url, json={"password": imap_user.password, "folder": "Factures"})
    answers.append(missing.text)
    tested = bruno.post(f"{url}/test").json()
    assert tested["error_code"] == "folder_missing"
    assert tested["error"] == "the server has no folder 'Factures'"
    bruno.patch(url, json={"folder": "INBOX"})

    subjects = [f"Scan {number} {unique('imap')}" for number in (1, 2, 3)]
    uids = server.append(imap_user, *(message(n, subject=subject) for n, subject in enumerate(subjects, 1)))
    checked = bruno.post(f"{url}/check")
    answers.append(checked.text)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["imported"], checked.json()["skipped"]) == (3, 0)
    state = bruno.get(url).json()
    answers.append(str(state))
    assert (state["messages_imported"], state["last_uid"], state["last_error"]) == (3, uids[-1], None)
    assert state["last_success_at"] is not None

    again = bruno.post(f"{url}/check").json()
    assert (again["imported"], again["mailbox"]["messages_imported"]) == (0, 3)
    client = server.client(imap_user)
    try:
        client.select_folder("INBOX", readonly=True)
        assert all(IMPORTED_FLAG in data[b"FLAGS"] for data in client.fetch(uids, ["FLAGS"]).values())
    finally:
        client.logout()

    listed = bruno.get("/api/v1/mailboxes")
    answers.append(listed.text)
    assert [m["id"] for m in listed.json()["mailboxes"]] == [mailbox["id"]]
    admin_sees = org["admin"].get(url)
    assert admin_sees.status_code == 404  # another user's mailbox, even for an admin
    assert all(imap_user.password not in answer for answer in answers)
    assert all("password" not in answer for answer in answers)

    # Processing made each stored message Bruno's pending e-mail, once.
    for subject in subjects:
        [pending] = pending_with(bruno, subject)
        assert pending["type"] == "pending_email"
    assert all(len(pending_with(bruno, subject)) == 1 for subject in subjects)

    assert bruno.delete(url).status_code == 204
    assert bruno.get(url).status_code == 404
