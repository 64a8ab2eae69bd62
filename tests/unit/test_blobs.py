"""The content-addressed blob store: bytes under their SHA-256, written whole or not at all."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from crm.blobs import BlobNotFound, LocalBlobStore, content_hash, open_blob_store

FACTURE = "Facture 2026-117 – Pomme Siège Central – 1 200,00 €".encode()


def files_under(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_bytes_are_stored_under_their_sha256_in_a_two_letter_folder(tmp_path):
    store = LocalBlobStore(tmp_path)
    digest = hashlib.sha256(FACTURE).hexdigest()

    assert store.put(FACTURE) == digest
    assert files_under(tmp_path) == [f"{digest[:2]}/{digest[2:]}"]
    assert store.get(digest) == FACTURE
    assert store.exists(digest)


def test_storing_the_same_bytes_again_changes_nothing(tmp_path):
    store = LocalBlobStore(tmp_path)
    digest = store.put(FACTURE)
    written = (tmp_path / digest[:2] / digest[2:]).stat().st_mtime_ns

    assert store.put(FACTURE) == digest
    assert (tmp_path / digest[:2] / digest[2:]).stat().st_mtime_ns == written
    assert len(files_under(tmp_path)) == 1


def test_an_unknown_hash_is_not_found(tmp_path):
    store = LocalBlobStore(tmp_path)
    missing = hashlib.sha256(b"jamais vu").hexdigest()

    assert not store.exists(missing)
    with pytest.raises(BlobNotFound):
        store.get(missing)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "ab", "", "0" * 63 + "/"])
def test_a_value_that_is_not_a_hash_never_reaches_the_file_system(tmp_path, bad):
    store = LocalBlobStore(tmp_path / "blobs")
    (tmp_path / "passwd").write_text("secret")

    assert not store.exists(bad)
    with pytest.raises(BlobNotFound):
        store.get(bad)


def test_a_failed_write_leaves_neither_a_partial_blob_nor_a_temp_file(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)

    def disk_full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.put(FACTURE)
    assert files_under(tmp_path) == []
    assert not store.exists(hashlib.sha256(FACTURE).hexdigest())


def test_the_default_store_is_the_blobs_folder_of_the_data_dir(unit_settings, tmp_path):
    digest = open_blob_store(unit_settings).put(b"scan")

    assert (tmp_path / "blobs" / digest[:2] / digest[2:]).read_bytes() == b"scan"


def test_a_new_blob_is_durable_with_its_name_its_folder_synced_after_the_rename(tmp_path, monkeypatch):
    """A file's bytes synced are not enough: its name is an entry of its folder (and a folder made
    for it, of the folder holding that), which a crash loses unless they are synced too."""
    store = LocalBlobStore(tmp_path / "blobs")
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
        synced.append("file" if path.name.startswith(".incoming-") else str(path.relative_to(tmp_path)))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    first = store.put(b"facture 118")
    assert synced == ["file", f"blobs/{first[:2]}", "blobs", "."]

    synced.clear()
    second = next(
        content for n in range(1000) if content_hash(content := f"relance {n}".encode())[:2] == first[:2]
    )
    store.put(second)  # its folder is there: only it is synced
    assert synced == ["file", f"blobs/{first[:2]}"]
