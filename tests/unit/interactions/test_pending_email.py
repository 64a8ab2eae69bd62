"""Pending e-mail: received mail becomes an interaction to process."""

from __future__ import annotations

from tests.people import BOB


def test_a_pending_email_becomes_an_interaction_with_its_attachments(interactions):
    created = interactions.system().create_pending_email(
        {
            "org_id": "org-pomme",
            "owner_id": BOB.user_id,
            "subject": "Scan facture",
            "received_at": "2026-11-22T10:00:00+00:00",
            "sender": "scanner@pomme.fr",
            "attachments": [
                {
                    "name": "facture.pdf",
                    "blob_hash": "a" * 64,
                    "size": 1234,
                    "content_type": "application/pdf",
                }
            ],
        }
    )
    assert (created["type"], created["status"], created["owner_id"]) == (
        "pending_email",
        "to_process",
        BOB.user_id,
    )
    assert interactions.count("documents") == 1
