"""Documents: files stored by content hash, links to online documents, downloads."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from crm.errors import InvalidInput, ReadOnlyUser
from services.interactions.exceptions import DocumentNotFound, InteractionNotFound
from tests.people import ALICE, BOB, CLAIRE, DIANE
from tests.unit.interactions.conftest import JEANNE, SIEGE

DEVIS = "Devis n° 42 – Rénovation de l'accueil, Pomme Siège Central".encode()
REUNION = {"subject": "Réunion chantier", "type": "meeting", "start_at": "2026-12-01T09:00:00+01:00"}


@pytest.fixture
def reunion(interactions) -> str:
    return interactions.as_user(ALICE).create_interaction(REUNION)["id"]


def upload(interactions, interaction_id, person=BOB, content=DEVIS, **fields) -> dict:
    data = {
        "name": "devis-42.pdf",
        "document_type": "devis",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
        **fields,
    }
    return interactions.as_user(person).upload_document(interaction_id, data)


def stored_files(interactions) -> list[str]:
    root = Path(interactions.settings.data_dir) / "blobs"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_an_uploaded_document_is_stored_by_its_content_hash(interactions, reunion):
    digest = hashlib.sha256(DEVIS).hexdigest()

    document = upload(interactions, reunion)
    copy = upload(interactions, reunion, name="devis-42 (copie).pdf")

    assert (document["blob_hash"], document["size"], document["kind"]) == (digest, len(DEVIS), "file")
    assert copy["blob_hash"] == digest
    assert stored_files(interactions) == [f"{digest[:2]}/{digest[2:]}"]  # the same bytes, stored once
    downloaded = interactions.as_user(CLAIRE).get_document_content(document["id"])
    assert base64.b64decode(downloaded["content_base64"]) == DEVIS
    assert (downloaded["name"], downloaded["content_type"]) == ("devis-42.pdf", "application/pdf")
    assert interactions.events("interaction_document_added")[0]["record"]["id"] == document["id"]


def test_files_and_links_are_listed_with_their_interaction(interactions, reunion):
    file = upload(interactions, reunion)
    link = interactions.as_user(BOB).add_document_link(
        reunion,
        {"name": "Plans du siège", "document_type": "plan", "url": "https://docs.pomme.fr/plans/siege"},
    )
    listed = interactions.as_user(CLAIRE).list_documents(reunion)
    assert [(item["id"], item["kind"]) for item in listed] == [(file["id"], "file"), (link["id"], "link")]
    assert (listed[1]["url"], listed[1]["blob_hash"]) == ("https://docs.pomme.fr/plans/siege", None)


def test_a_link_has_no_content_to_download(interactions, reunion):
    link = interactions.as_user(BOB).add_document_link(
        reunion, {"name": "Contrat signé", "document_type": "contrat", "url": "https://drive.pomme.fr/c/7"}
    )
    with pytest.raises(DocumentNotFound, match="link"):
        interactions.as_user(BOB).get_document_content(link["id"])


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://pomme.fr/devis", "https://"])
def test_a_link_must_be_a_web_address(interactions, reunion, url):
    with pytest.raises(InvalidInput, match="url"):
        interactions.as_user(BOB).add_document_link(
            reunion, {"name": "Lien", "document_type": "x", "url": url}
        )


def test_a_document_over_the_limit_is_refused_and_nothing_is_stored(interactions, reunion, monkeypatch):
    monkeypatch.setattr(interactions.settings.interactions, "document_max_bytes", 32)
    before = interactions.footprint()
    with pytest.raises(InvalidInput, match="over 32 bytes") as refused:
        upload(interactions, reunion)
    assert refused.value.errors[0]["field"] == "content_base64"
    assert interactions.footprint() == before
    assert stored_files(interactions) == []


@pytest.mark.parametrize(("content_base64", "message"), [("pas du base64!", "base64"), ("", "empty")])
def test_content_that_is_not_a_file_is_refused(interactions, reunion, content_base64, message):
    with pytest.raises(InvalidInput, match=message):
        upload(interactions, reunion, content_base64=content_base64)


def test_a_read_only_user_cannot_upload(interactions, reunion):
    with pytest.raises(ReadOnlyUser):
        upload(interactions, reunion, person=CLAIRE)
    assert stored_files(interactions) == []


def test_documents_of_another_org_are_not_found_and_nothing_is_stored_for_them(interactions, reunion):
    document = upload(interactions, reunion)
    for attempt in (
        lambda: upload(interactions, reunion, person=DIANE, content=b"Facture Poire"),
        lambda: interactions.as_user(DIANE).list_documents(reunion),
    ):
        with pytest.raises(InteractionNotFound):
            attempt()
    with pytest.raises(DocumentNotFound):
        interactions.as_user(DIANE).get_document_content(document["id"])
    assert len(stored_files(interactions)) == 1


def test_the_documents_of_a_deleted_interaction_go_with_it(interactions, reunion):
    document = upload(interactions, reunion)
    interactions.as_user(ALICE).delete_interaction(reunion)
    with pytest.raises(DocumentNotFound):
        interactions.as_user(ALICE).get_document_content(document["id"])


def test_a_contact_or_company_lists_the_documents_of_its_interactions(interactions):
    linked = interactions.as_user(ALICE).create_interaction(
        {**REUNION, "contact_ids": [JEANNE], "company_ids": [SIEGE]}
    )["id"]
    unlinked = interactions.as_user(ALICE).create_interaction(REUNION)["id"]
    first = upload(interactions, linked, name="devis-42.pdf")
    link = interactions.as_user(BOB).add_document_link(
        linked, {"name": "Plans", "document_type": "plan", "url": "https://docs.pomme.fr/plans"}
    )
    upload(interactions, unlinked, name="autre.pdf")

    for query in ({"contact_id": JEANNE}, {"company_id": SIEGE}):
        listed = interactions.as_user(BOB).list_record_documents(query)
        assert [item["id"] for item in listed["items"]] == [link["id"], first["id"]]  # newest first
    page = interactions.as_user(BOB).list_record_documents({"company_id": SIEGE, "limit": 1})
    rest = interactions.as_user(BOB).list_record_documents(
        {"company_id": SIEGE, "limit": 1, "cursor": page["next_cursor"]}
    )
    assert [item["id"] for item in page["items"] + rest["items"]] == [link["id"], first["id"]]
    assert rest["next_cursor"] is None
    # Another organisation sees nothing of them; a deleted interaction takes its documents along.
    assert interactions.as_user(DIANE).list_record_documents({"company_id": SIEGE})["items"] == []
    interactions.as_user(ALICE).delete_interaction(linked)
    assert interactions.as_user(BOB).list_record_documents({"contact_id": JEANNE})["items"] == []


@pytest.mark.parametrize("query", [{}, {"contact_id": JEANNE, "company_id": SIEGE}])
def test_documents_are_listed_for_exactly_one_contact_or_company(interactions, query):
    with pytest.raises(InvalidInput, match="contact_id"):
        interactions.as_user(BOB).list_record_documents(query)
