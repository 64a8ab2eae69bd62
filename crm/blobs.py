"""A content-addressed blob store: document bytes kept under their SHA-256.

The owner service keeps the metadata (name, type, who, which record) and the
hash; the store only knows hashes, so storing the same bytes twice stores them
once. ``BlobStore`` is the interface (``put``, ``get``, ``exists``); the default
is a local folder, ``{data_dir}/blobs/ab/cdef...`` (the first two hex digits name
a subfolder, so that no folder grows to millions of files). An S3-compatible
store implements the same three methods with objects keyed the same way.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from crm.errors import NotFound

_HASH = re.compile(r"[0-9a-f]{64}")


class BlobNotFound(NotFound):
    title = "Blob not found"


def content_hash(content: bytes) -> str:
    """The address of ``content``: its SHA-256, in lower-case hex."""
    return hashlib.sha256(content).hexdigest()


def blob_key(blob_hash: str) -> str:
    """``ab/cdef...``: where a blob lives, relative to the store's root (a path or an object key)."""
    if not isinstance(blob_hash, str) or not _HASH.fullmatch(blob_hash):
        raise BlobNotFound(f"{blob_hash!r} is not a SHA-256 in lower-case hex")
    return f"{blob_hash[:2]}/{blob_hash[2:]}"


class BlobStore(ABC):
    """Bytes addressed by their SHA-256."""

    @abstractmethod
    def put(self, content: bytes) -> str:
        """Store ``content`` and return its hash; storing it again changes nothing."""

    @abstractmethod
    def get(self, blob_hash: str) -> bytes:
        """The bytes stored under ``blob_hash``; ``BlobNotFound`` if there are none."""

    @abstractmethod
    def exists(self, blob_hash: str) -> bool: ...


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``; a file appears whole or not at all (temp file, then rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_of(self, blob_hash: str) -> Path:
        return self.root / blob_key(blob_hash)

    def put(self, content: bytes) -> str:
        blob_hash = content_hash(content)
        path = self.path_of(blob_hash)
        if path.exists():
            return blob_hash
        made = _make_folders(path.parent)
        # The temp file sits in the same folder, so the rename stays on one file system and is atomic;
        # two writers of the same bytes both rename identical files into place.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        # The file's name is an entry of its folder: durable once the folder is (and a folder made
        # now, once the folder holding it is), else a crash could lose a file whose bytes were synced.
        for folder in [path.parent, *(new.parent for new in reversed(made))]:
            _sync_folder(folder)
        return blob_hash

    def get(self, blob_hash: str) -> bytes:
        try:
            return self.path_of(blob_hash).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {blob_hash}") from None

    def exists(self, blob_hash: str) -> bool:
        try:
            return self.path_of(blob_hash).is_file()
        except BlobNotFound:
            return False


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
    return list(reversed(missing))


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_blob_store(settings: Any) -> BlobStore:
    """The deployment's blob store: today a local folder (``blobs.folder``)."""
    return LocalBlobStore(Path(settings.blobs.folder.format(data_dir=settings.data_dir)))
