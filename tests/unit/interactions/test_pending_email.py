"""Pending e-mail: ``mail_received`` becomes an interaction the user finds, reads and processes."""

from __future__ import annotations

import base64

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from crm.blobs import open_blob_store
from crm.database import DatabaseAccess
from crm.outbox import new_event
from services.interactions import service as interactions_service
from tests.people import BOB
from tests.unit.interactions.conftest import JEANNE, SIEGE

RAW = b"From: Jeanne Dupont <jeanne@pomme-siege.fr>\r\nSubject: Facture 118\r\n\r\nBonjour\r\n"
PDF = b"%PDF-1.7 facture 118"
HTML = b"<p>Bonjour, voici la <b>facture</b>.</p>"


def mail_received(interactions, **changes) -> dict:
    store = open_blob_store(interactions.settings)
    record = {
        "delivery_id": "delivery-1",
        "user_id": BOB.user_id,
        "message_key": "<facture-118@pomme-siege.fr>",
        "subject": "Facture 118",
        "sender": {"address": "bruno@pomme.fr", "name": "Bruno Petit"},
        "original_sender": {"address": "jeanne@pomme-siege.fr", "name": "Jeanne Dupont"},
        "received_at": "2026-12-04T08:31:00+00:00",
        "sent_at": "2026-12-04T08:30:00+00:00",
        "text": "Bonjour,\nvoici la facture.",
        "html": {"blob_hash": store.put(HTML), "size": len(HTML)},
        "attachments": [
            {
                "name": "facture-118.pdf",
                "content_type": "application/pdf",
                "size": len(PDF),
                "blob_hash": store.put(PDF),
                "inline": False,
            }
        ],
        "raw": {"blob_hash": store.put(RAW), "size": len(RAW), "name": "message.eml"},
        "contact_id": JEANNE,
        "company_id": SIEGE,
        "problems": [],
        "source": "smtp",
        **changes,
    }
    return new_event("mail_received", org_id=BOB.org_id, actor_id=BOB.user_id, record=record)


def pending_emails(interactions) -> list[dict]:
    return interactions.as_user(BOB).list_interactions({"type": "pending_email"})["items"]


def test_a_received_mail_becomes_the_users_pending_email_with_its_links_and_documents(interactions):
    interactions.system().on_mail_received(mail_received(interactions))

    [pending] = pending_emails(interactions)
    assert (pending["type"], pending["status"], pending["owner_id"]) == (
        "pending_email",
        "to_process",
        BOB.user_id,
    )
    assert (pending["subject"], pending["start_at"]) == ("Facture 118", "2026-12-04T08:30:00+00:00")
    assert (pending["contact_ids"], pending["company_ids"]) == ([JEANNE], [SIEGE])
    assert pending["description"] == (
        "From: Bruno Petit <bruno@pomme.fr>\n"
        "Originally from: Jeanne Dupont <jeanne@pomme-siege.fr>\n\n"
        "Bonjour,\nvoici la facture."
    )
    bob = interactions.as_user(BOB)
    documents = {document["name"]: document for document in bob.list_documents(pending["id"])}
    assert {name: document["content_type"] for name, document in documents.items()} == {
        "facture-118.pdf": "application/pdf",
        "message.html": "text/html",
        "message.eml": "message/rfc822",
    }
    for name, content in (("facture-118.pdf", PDF), ("message.html", HTML), ("message.eml", RAW)):
        downloaded = bob.get_document_content(documents[name]["id"])
        assert base64.b64decode(downloaded["content_base64"]) == content
    assert bob.list_notes(pending["id"]) == []
    assert [event["record"]["id"] for event in interactions.events("interaction_created")] == [pending["id"]]


def test_its_creation_is_one_event_carrying_the_interaction_as_read_and_its_documents(interactions):
    interactions.system().on_mail_received(mail_received(interactions))

    [event] = interactions.events("interaction_created")
    record = dict(event["record"])
    carried = record.pop("documents")
    bob = interactions.as_user(BOB)
    assert record == bob.get_interaction(record["id"])
    assert sorted(carried, key=lambda d: d["id"]) == sorted(
        bob.list_documents(record["id"]), key=lambda d: d["id"]
    )
    assert interactions.events("interaction_document_added") == []


def test_the_same_mail_twice_is_one_interaction_even_as_another_event_or_after_a_delete(interactions):
    event = mail_received(interactions)
    interactions.system().on_mail_received(event)
    interactions.system().on_mail_received(event)  # redelivered
    interactions.system().on_mail_received(mail_received(interactions))  # another event, same message key
    [pending] = pending_emails(interactions)
    assert interactions.count("documents") == 3

    interactions.as_user(BOB).delete_interaction(pending["id"])
    interactions.system().on_mail_received(mail_received(interactions))
    assert pending_emails(interactions) == []

    interactions.system().on_mail_received(mail_received(interactions, message_key="<autre@pomme.fr>"))
    assert len(pending_emails(interactions)) == 1


def test_a_mail_that_could_not_be_read_is_pending_with_its_eml_and_a_note_saying_what_failed(interactions):
    event = mail_received(
        interactions,
        subject="",
        sender=None,
        original_sender=None,
        sent_at=None,
        text="",
        html=None,
        attachments=[],
        contact_id=None,
        company_id=None,
        problems=["the message ends before its last part does (it may be cut short)"],
    )
    interactions.system().on_mail_received(event)

    [pending] = pending_emails(interactions)
    assert (pending["subject"], pending["start_at"]) == ("(no subject)", "2026-12-04T08:31:00+00:00")
    assert (pending["contact_ids"], pending["company_ids"], pending["description"]) == ([], [], None)
    bob = interactions.as_user(BOB)
    assert [document["name"] for document in bob.list_documents(pending["id"])] == ["message.eml"]
    [note] = bob.list_notes(pending["id"])
    assert "the message ends before its last part does (it may be cut short)" in note["text"]
    assert note["stamp"].startswith("Mail ingestion, ")


def test_a_long_text_is_cut_to_what_an_interaction_takes_and_says_where_the_rest_is(interactions):
    interactions.system().on_mail_received(mail_received(interactions, text="ligne\x07 " * 5_000))
    [pending] = pending_emails(interactions)
    assert len(pending["description"]) <= 20_000
    assert pending["description"].endswith("[… the rest of the text is in message.eml]")
    assert "\x07" not in pending["description"]


def test_a_malformed_event_is_dropped_without_an_interaction(interactions):
    event = mail_received(interactions)
    del event["record"]["raw"]
    interactions.system().on_mail_received(event)
    assert pending_emails(interactions) == []


def test_while_the_database_is_away_the_event_is_put_back_and_applied_once_it_is_back(
    interactions, tmp_path, monkeypatch
):
    away = DatabaseAccess(create_engine(f"sqlite:///{tmp_path}/no-such-folder/interactions.db"), relay=None)
    event = mail_received(interactions)
    worker = worker_factory(
        interactions_service.InteractionsService, db=away, config={"CRM": interactions.settings}
    )
    with pytest.raises(OperationalError):  # raised: nameko puts the event back on the queue
        worker.on_mail_received(event)

    interactions.system().on_mail_received(event)  # delivered again, the database back
    assert len(pending_emails(interactions)) == 1
