"""IMAP "check inbox" against a real Dovecot: the mailin service's mailbox RPCs on the real broker
and database, checks that store each new message once, and errors a user can act on."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select, update

from crm.auth import CallerProvider
from crm.blobs import open_blob_store
from crm.database import create_service_engine
from crm.errors import InvalidInput, ReadOnlyUser
from crm.times import utcnow
from services.mailin import checks, service_mailboxes
from services.mailin.exceptions import CheckRunning, MailboxNotFound
from services.mailin.imap.fetch import IMPORTED_FLAG
from services.mailin.models import Delivery, Mailbox, RawMessage
from services.mailin.service import MailinService
from tests.dovecot import dovecot, message  # noqa: F401  (dovecot: the session's server)
from tests.people import ALICE, BOB, CLAIRE, KID, Person
from tests.unit.notifier.harness import access_token

SIGNING_KEY = Ed25519PrivateKey.generate()
SECRET_KEY = Fernet.generate_key().decode()


class MailinUnderTest(MailinService):
    """The real service, verifying tokens with this test's key, without the start-up load of
    addresses from accounts (not running here) and without the periodic check (called here)."""

    caller = CallerProvider(
        load_keys=lambda config: {KID: SIGNING_KEY.public_key()},
        load_revocations=lambda config: {"sessions": [], "users": []},
    )

    def load_ingest_addresses(self) -> None:  # not an entrypoint here
        pass

    def check_due_mailboxes(self) -> None:  # not an entrypoint here
        pass


@pytest.fixture
def imap_settings(migrated, dovecot):  # noqa: F811
    document = migrated.model_dump()
    # A user's test or check waits at most half the gateway's RPC timeout for each answer of the
    # server: long enough for a Dovecot on a busy test machine.
    document["gateway"]["rpc_timeout_seconds"] = 30
    document["mailin"].update(
        secret_key=SECRET_KEY, imap_ca_file=str(dovecot.ca_file), imap_batch_size=2, imap_timeout_seconds=10
    )
    return type(migrated).model_validate(document)


@pytest.fixture
def mailin(container_factory, imap_settings):
    container = container_factory(MailinUnderTest, imap_settings.nameko_config())
    container.start()
    return container


@pytest.fixture
def engine(imap_settings):
    engine = create_service_engine(imap_settings, "mailin")
    yield engine
    engine.dispose()


def rpc_as(settings, person):
    token = access_token(settings, SIGNING_KEY, person)
    return ClusterRpcProxy(settings.nameko_config(), context_data={"access_token": token}, timeout=30)


def mailbox_body(dovecot, user, **fields):  # noqa: F811
    return {
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "security": "tls",
        "username": user.name,
        "password": user.password,
        **fields,
    }


def stored_from(engine, mailbox_id: str) -> list[bytes]:
    with engine.connect() as connection:
        hashes = connection.scalars(
            select(RawMessage.blob_hash)
            .where(RawMessage.mailbox_id == mailbox_id)
            .order_by(RawMessage.received_at)
        )
        return [hash_ for hash_ in hashes]


def deliveries_from(engine, mailbox_id: str) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Delivery.org_id, Delivery.user_id, RawMessage.source)
            .join(RawMessage, RawMessage.id == Delivery.raw_message_id)
            .where(RawMessage.mailbox_id == mailbox_id)
        )
        return [tuple(row) for row in rows]


def flags_of(dovecot, user, folder="INBOX") -> dict[int, set]:  # noqa: F811
    client = dovecot.client(user)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        return (
            {uid: set(data[b"FLAGS"]) for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}
        )
    finally:
        client.logout()


def test_a_check_stores_each_new_message_once_and_flags_it(mailin, imap_settings, engine, dovecot):  # noqa: F811
    user = dovecot.new_user()
    blobs = open_blob_store(imap_settings)
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        assert "password" not in str(created) and user.password not in str(created)
        assert (created["folder"], created["after_import"], created["messages_imported"]) == (
            "INBOX",
            "flag",
            0,
        )
        uids = dovecot.append(user, message(1), message(2), message(3))

        first = cluster.mailin.check_mailbox(created["id"])

        assert (first["imported"], first["skipped"]) == (3, 0)
        state = first["mailbox"]
        assert (state["messages_imported"], state["last_uid"], state["last_error"]) == (3, uids[-1], None)
        assert state["last_check_at"] and state["last_success_at"] and state["checking"] is False
        stored = stored_from(engine, created["id"])
        assert [blobs.get(hash_) for hash_ in stored] == [message(1), message(2), message(3)]
        assert deliveries_from(engine, created["id"]) == [(BOB.org_id, BOB.user_id, "imap")] * 3
        assert all(IMPORTED_FLAG in flags for flags in flags_of(dovecot, user).values())

        again = cluster.mailin.check_mailbox(created["id"])
        assert again["imported"] == 0
        dovecot.append(user, message(4))
        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 1
        assert len(stored_from(engine, created["id"])) == 4
        assert user.password not in str(cluster.mailin.list_mailboxes())


def test_after_import_move_puts_the_messages_in_the_other_folder(mailin, imap_settings, engine, dovecot):  # noqa: F811
    user = dovecot.new_user()
    dovecot.append(user, message(1), folder="CRM")
    dovecot.append(user, message(2), message(3))
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(
            mailbox_body(
                dovecot, user, security="starttls", port=dovecot.port, after_import="move", move_to="CRM"
            )
        )
        assert cluster.mailin.test_mailbox(created["id"]) == {
            "ok": True,
            "error_code": None,
            "error": None,
            "messages": 2,
        }

        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 2

    assert flags_of(dovecot, user) == {}
    assert len(flags_of(dovecot, user, "CRM")) == 3


def test_leave_changes_nothing_on_the_server(mailin, imap_settings, engine, dovecot):  # noqa: F811
    user = dovecot.new_user()
    dovecot.append(user, message(1))
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, after_import="leave"))
        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 1

    assert list(flags_of(dovecot, user).values()) == [set()]


def test_test_names_what_is_wrong(mailin, imap_settings, dovecot):  # noqa: F811
    user = dovecot.new_user()
    with rpc_as(imap_settings, BOB) as cluster:

        def tested(**fields):
            mailbox = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, **fields))
            return cluster.mailin.test_mailbox(mailbox["id"])

        wrong_password = tested(password="pas-le-bon")
        missing_folder = tested(folder="Factures")
        missing_move_to = tested(after_import="move", move_to="Archives")
        plain_port_as_tls = tested(port=dovecot.port)
        nobody_there = tested(port=1)
        no_such_host = tested(host="imap.pomme-siege.invalid")

    assert wrong_password["error_code"] == "auth_failed"
    assert "refused the user name or password" in wrong_password["error"]
    assert (missing_folder["error_code"], missing_folder["error"]) == (
        "folder_missing",
        "the server has no folder 'Factures'",
    )
    assert missing_move_to["error"] == "the server has no folder to move to 'Archives'"
    assert plain_port_as_tls["error_code"] == "tls_failed"
    assert nobody_there["error_code"] == "host_unreachable"
    assert "refused the connection" in nobody_there["error"]
    assert (no_such_host["error_code"], no_such_host["error"]) == (
        "host_unreachable",
        "no such host: imap.pomme-siege.invalid",
    )


def test_an_untrusted_certificate_is_a_tls_failure(container_factory, imap_settings, dovecot):  # noqa: F811
    document = imap_settings.model_dump()
    document["mailin"]["imap_ca_file"] = ""
    untrusting = type(imap_settings).model_validate(document)
    container = container_factory(MailinUnderTest, untrusting.nameko_config())
    container.start()
    user = dovecot.new_user()
    with rpc_as(untrusting, BOB) as cluster:
        mailbox = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        answer = cluster.mailin.test_mailbox(mailbox["id"])

    assert answer["ok"] is False
    assert answer["error_code"] == "tls_failed"
    assert "certificate" in answer["error"]


def test_wrong_credentials_are_recorded_on_the_mailbox_and_tried_again(mailin, imap_settings, dovecot):  # noqa: F811
    user = dovecot.new_user()
    dovecot.append(user, message(1))
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, password="pas-le-bon"))

        failed = cluster.mailin.check_mailbox(created["id"])

        assert failed["imported"] == 0
        assert failed["mailbox"]["last_error_code"] == "auth_failed"
        assert failed["mailbox"]["last_check_at"] and failed["mailbox"]["last_success_at"] is None
        fixed = cluster.mailin.update_mailbox(created["id"], {"password": user.password})
        assert fixed["last_error"] is None and fixed["version"] == 2
        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 1


def test_a_message_over_the_size_limit_stays_on_the_server_and_is_named(
    container_factory,
    imap_settings,
    engine,
    dovecot,  # noqa: F811
):
    document = imap_settings.model_dump()
    document["mailin"]["imap_max_message_bytes"] = 4096
    small_limit = type(imap_settings).model_validate(document)
    container_factory(MailinUnderTest, small_limit.nameko_config()).start()
    user = dovecot.new_user()
    dovecot.append(user, message(1), message(2, subject="Plan Chambre 404", size=20_000), message(3))
    with rpc_as(small_limit, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, after_import="leave"))

        checked = cluster.mailin.check_mailbox(created["id"])

    assert (checked["imported"], checked["skipped"]) == (2, 1)
    state = checked["mailbox"]
    assert (state["messages_imported"], state["messages_skipped"], state["last_uid"]) == (2, 1, 3)
    assert state["last_skipped"].startswith("UID 2 'Plan Chambre 404' (")
    assert "over the 4096 byte limit" in state["last_skipped"]


def test_a_new_uidvalidity_imports_only_what_the_user_does_not_have(mailin, imap_settings, engine, dovecot):  # noqa: F811
    user = dovecot.new_user()
    dovecot.append(user, message(1), message(2))
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, after_import="leave"))
        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 2
        # Processing records what the user has by Message-ID: as it would have by now.
        _ingested(engine, BOB, ["scan-1@scanner.pomme-siege.fr", "scan-2@scanner.pomme-siege.fr"])
        dovecot.append(user, message(3))
        with engine.begin() as connection:  # as after the server rebuilt the folder
            connection.execute(update(Mailbox).where(Mailbox.id == created["id"]).values(uid_validity=1))

        checked = cluster.mailin.check_mailbox(created["id"])

    assert checked["imported"] == 1
    assert checked["mailbox"]["uid_validity"] != 1


def _ingested(engine, person, keys):
    from services.mailin.models import Ingested

    with engine.begin() as connection:
        for key in keys:
            connection.execute(
                Ingested.__table__.insert().values(
                    org_id=person.org_id,
                    user_id=person.user_id,
                    message_key=key,
                    delivery_id="d",
                    created_at=utcnow(),
                )
            )


def test_a_user_sees_and_changes_only_their_own_mailboxes(mailin, imap_settings, dovecot):  # noqa: F811
    user = dovecot.new_user()
    bruno = Person(f"user-bruno-{uuid.uuid4().hex[:8]}", BOB.org_id)
    with rpc_as(imap_settings, bruno) as bob:
        mailbox = bob.mailin.create_mailbox(mailbox_body(dovecot, user, name="Scanner du 3e"))
    with rpc_as(imap_settings, ALICE) as alice:
        assert alice.mailin.list_mailboxes() == []
        for call in (alice.mailin.get_mailbox, alice.mailin.test_mailbox, alice.mailin.check_mailbox):
            with pytest.raises(MailboxNotFound):
                call(mailbox["id"])
    with rpc_as(imap_settings, CLAIRE) as claire:  # read-only
        with pytest.raises(ReadOnlyUser):
            claire.mailin.create_mailbox(mailbox_body(dovecot, user))
    with rpc_as(imap_settings, bruno) as bob:
        assert [m["name"] for m in bob.mailin.list_mailboxes()] == ["Scanner du 3e"]
        bob.mailin.delete_mailbox(mailbox["id"])
        assert bob.mailin.list_mailboxes() == []


def test_bad_fields_are_refused_naming_them(mailin, imap_settings, dovecot):  # noqa: F811
    user = dovecot.new_user()
    with rpc_as(imap_settings, BOB) as cluster:
        for fields, named in (
            ({"after_import": "move"}, "move_to"),
            ({"after_import": "move", "move_to": "INBOX"}, "move_to"),
            ({"security": "none"}, "security"),
            ({"port": 0}, "port"),
        ):
            with pytest.raises(InvalidInput, match=f"^{named}"):
                cluster.mailin.create_mailbox(mailbox_body(dovecot, user, **fields))


def test_one_check_at_a_time_and_a_stale_one_is_taken_over(mailin, imap_settings, engine, dovecot):  # noqa: F811
    user = dovecot.new_user()
    dovecot.append(user, message(1))
    with rpc_as(imap_settings, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        stale = imap_settings.mailin.imap_check_stale_seconds
        with engine.begin() as connection:  # another check holds it
            connection.execute(
                update(Mailbox).where(Mailbox.id == created["id"]).values(checking_since=utcnow())
            )

        with pytest.raises(CheckRunning):
            cluster.mailin.check_mailbox(created["id"])
        assert created["id"] not in checks.due_mailboxes(engine, timedelta(0), stale)

        with engine.begin() as connection:  # ... and died long ago
            connection.execute(
                update(Mailbox)
                .where(Mailbox.id == created["id"])
                .values(checking_since=utcnow() - timedelta(seconds=stale + 1))
            )
        assert created["id"] in checks.due_mailboxes(engine, timedelta(0), stale)
        assert cluster.mailin.check_mailbox(created["id"])["imported"] == 1
        assert created["id"] not in checks.due_mailboxes(engine, timedelta(minutes=5), stale)


class MailinWithTimer(MailinService):
    """The real service with its periodic check; tokens verified with this test's key."""

    caller = MailinUnderTest.caller

    def load_ingest_addresses(self) -> None:  # not an entrypoint here
        pass


def test_the_periodic_check_imports_due_mailboxes_and_records_wrong_credentials(
    container_factory,
    imap_settings,
    engine,
    dovecot,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setattr(service_mailboxes, "DUE_POLL_SECONDS", 0.2)
    document = imap_settings.model_dump()
    document["mailin"]["imap_check_minutes"] = 1
    every_minute = type(imap_settings).model_validate(document)
    user = dovecot.new_user()
    dovecot.append(user, message(1), message(2))
    container_factory(MailinWithTimer, every_minute.nameko_config()).start()
    with rpc_as(every_minute, BOB) as cluster:
        good = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        wrong = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, password="pas-le-bon"))
        recent = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        with engine.begin() as connection:  # added two minutes ago: due
            connection.execute(
                update(Mailbox)
                .where(Mailbox.id.in_([good["id"], wrong["id"]]))
                .values(created_at=utcnow() - timedelta(minutes=2))
            )

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = {
                m["id"]: m for m in cluster.mailin.list_mailboxes() if m["id"] in (good["id"], wrong["id"])
            }
            if all(state["last_check_at"] for state in states.values()) and len(states) == 2:
                break
            time.sleep(0.2)
        recent_state = cluster.mailin.get_mailbox(recent["id"])

    assert (states[good["id"]]["messages_imported"], states[good["id"]]["last_error"]) == (2, None)
    assert states[wrong["id"]]["messages_imported"] == 0
    assert states[wrong["id"]]["last_error_code"] == "auth_failed"
    assert recent_state["last_check_at"] is None  # its first check comes a minute after it was added


def test_a_check_takes_at_most_its_cap_and_says_more_remain(container_factory, imap_settings, dovecot):  # noqa: F811
    document = imap_settings.model_dump()
    document["mailin"]["imap_max_messages_per_check"] = 2
    capped = type(imap_settings).model_validate(document)
    container_factory(MailinUnderTest, capped.nameko_config()).start()
    user = dovecot.new_user()
    dovecot.append(user, message(1), message(2), message(3))
    with rpc_as(capped, BOB) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))

        first = cluster.mailin.check_mailbox(created["id"])
        second = cluster.mailin.check_mailbox(created["id"])

    assert (first["imported"], first["more"]) == (2, True)
    assert (second["imported"], second["more"]) == (1, False)


def test_the_mailboxes_of_a_deactivated_user_are_not_read(mailin, imap_settings, engine, dovecot):  # noqa: F811
    from services.mailin.models import IngestAddress

    user = dovecot.new_user()
    gone = Person(f"user-parti-{uuid.uuid4().hex[:8]}", BOB.org_id)
    with rpc_as(imap_settings, gone) as cluster:
        created = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
    stale = imap_settings.mailin.imap_check_stale_seconds
    assert created["id"] in checks.due_mailboxes(engine, timedelta(0), stale)

    with engine.begin() as connection:  # as accounts' user_deactivated left it
        connection.execute(
            IngestAddress.__table__.insert().values(
                user_id=gone.user_id, org_id=gone.org_id, active=False, user_version=2, updated_at=utcnow()
            )
        )

    assert created["id"] not in checks.due_mailboxes(engine, timedelta(0), stale)
