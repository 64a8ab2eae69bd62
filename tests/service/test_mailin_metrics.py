"""mailin's business figures after real mail: stored by the SMTP listener and by checks of a real
Dovecot (counted by source), checks ok and failing (a mailbox failing until it is put right), and
stored mail that could not be processed (counted at each attempt, pending until it is)."""

from __future__ import annotations

import smtplib
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text, update

from crm.blobs import open_blob_store
from crm.database import DatabaseAccess, create_service_engine, is_postgresql
from crm.errors import ServiceUnavailable
from crm.times import utcnow
from services.mailin import metrics, processing
from services.mailin.models import Base, Delivery
from services.mailin.store import store_message
from tests.dovecot import dovecot, message  # noqa: F401  (dovecot: the session's server)
from tests.figures import samples, scrape
from tests.mailin_listener import INGEST_DOMAIN, add_ingest_address
from tests.people import BOB
from tests.service.test_mailin_imap import imap_settings, mailbox_body, mailin, rpc_as  # noqa: F401
from tests.service.test_mailin_processing import invoice
from tests.service.test_mailin_smtp import scan


def _waiting(engine) -> dict[str, float]:
    figures = scrape(metrics, engine)
    return {
        "smtp": figures.get_sample_value("crm_mail_ingested_total", {"source": "smtp"}),
        "imap": figures.get_sample_value("crm_mail_ingested_total", {"source": "imap"}),
        "pending": figures.get_sample_value("crm_mail_pending"),
        "failing": figures.get_sample_value("crm_imap_mailboxes_failing"),
    }


def _checks() -> dict[str, float]:
    """The process's own counts, on the registry its metrics port serves."""
    return {o: REGISTRY.get_sample_value("crm_imap_checks_total", {"outcome": o}) for o in ("ok", "failure")}


def _moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before if after[key] != before[key]}


def test_a_scan_sent_to_the_smtp_listener_is_ingested_and_pending(listener, engine):
    local_part = f"umetrics{uuid.uuid4().hex[:8]}"
    add_ingest_address(engine, local_part)
    before = _waiting(engine)

    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.send_message(scan(), "scanner@pomme-siege-central.fr", [f"{local_part}@{INGEST_DOMAIN}"])

    assert _moved(before, _waiting(engine)) == {"smtp": 1, "pending": 1}


def test_imap_checks_count_by_outcome_and_a_mailbox_fails_until_its_password_is_right(
    mailin,  # noqa: F811
    imap_settings,  # noqa: F811
    engine,
    dovecot,  # noqa: F811
):
    user = dovecot.new_user()
    dovecot.append(user, message(1), message(2))
    figures, checks = _waiting(engine), _checks()
    with rpc_as(imap_settings, BOB) as cluster:
        good = cluster.mailin.create_mailbox(mailbox_body(dovecot, user))
        wrong = cluster.mailin.create_mailbox(mailbox_body(dovecot, user, password="pas-le-bon"))
        cluster.mailin.check_mailbox(good["id"])
        cluster.mailin.check_mailbox(wrong["id"])

        assert _moved(checks, _checks()) == {"ok": 1, "failure": 1}
        assert {k: v for k, v in _moved(figures, _waiting(engine)).items() if k != "pending"} == {
            "imap": 2,
            "failing": 1,
        }

        cluster.mailin.update_mailbox(wrong["id"], {"password": user.password})
        cluster.mailin.check_mailbox(wrong["id"])

    assert _moved(checks, _checks()) == {"ok": 2, "failure": 1}
    assert _waiting(engine)["failing"] == figures["failing"]


@pytest.fixture
def own_engine(migrated):
    """A mailin database of this test's own (made from the models): what other tests left pending
    in mailin's would be taken by the same processing, so its figures are exactly this test's."""
    name = "mailin_figures"
    url = migrated.database_url(name)
    if is_postgresql(url):
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        admin.dispose()
    engine = create_service_engine(migrated, name)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_mail_that_cannot_be_processed_is_counted_at_each_attempt_and_pending_until_it_is(
    migrated, own_engine
):
    blobs, db = open_blob_store(migrated), DatabaseAccess(own_engine, relay=None)
    store_message(
        own_engine, blobs, invoice("<facture-1@pomme.fr>"), [("org-pomme", "u-paul")], source="smtp"
    )
    store_message(
        own_engine, blobs, invoice("<facture-2@pomme.fr>"), [("org-pomme", "u-paul")], source="imap"
    )
    failed = REGISTRY.get_sample_value("crm_mail_failed_total")

    def contacts_away(queries: list) -> None:
        raise ServiceUnavailable("contacts did not answer")

    processing.process_next(db, blobs, contacts_away)  # the first fails; the batch stops there
    processing.process_next(db, blobs, contacts_away)  # the second; the first waits, backing off

    assert REGISTRY.get_sample_value("crm_mail_failed_total") == failed + 2
    assert _waiting(own_engine) == {"smtp": 1, "imap": 1, "pending": 2, "failing": 0}

    with own_engine.begin() as connection:  # their next attempts are due
        connection.execute(update(Delivery).values(next_attempt_at=utcnow()))
    processing.process_next(db, blobs, lambda queries: [None] * len(queries))

    assert REGISTRY.get_sample_value("crm_mail_failed_total") == failed + 2
    assert _waiting(own_engine)["pending"] == 0
    assert samples(scrape(metrics, own_engine), "crm_mail_ingested_total") == {("smtp",): 1, ("imap",): 1}
