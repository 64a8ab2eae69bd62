"""The Google refresh tokens, and the CRM API tokens the job acts with, encrypted at rest (Fernet),
with the key from ``sync.google.secret_key`` (the same approach as mailin's IMAP passwords).

The setting holds a Fernet key, or any passphrase (a key is derived from it).
Empty, a key is made once in ``{data_dir}/sync-secret.key`` and used from then
on, with a warning: every sync process must share it. A token encrypted with
another key cannot be read: the run stops saying so, and the user connects again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_NAME = "sync-secret.key"
_SALT = b"crm sync google tokens"
_ROUNDS = 200_000

log = logging.getLogger(__name__)


class SecretUnreadable(Exception):
    """A token stored with another key (``sync.google.secret_key`` changed)."""


def cipher(secret_key: str, data_dir: str) -> Fernet:
    return _cipher(secret_key or _key_file(Path(data_dir)))


def encrypt(fernet: Fernet, secret: str) -> str:
    return fernet.encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(fernet: Fernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "a stored token cannot be decrypted (sync.google.secret_key changed): connect Google again"
        ) from exc


@cache
def _cipher(secret: str) -> Fernet:
    try:
        if len(base64.urlsafe_b64decode(secret.encode("ascii"))) == 32:
            return Fernet(secret.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        pass
    derived = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), _SALT, _ROUNDS)
    return Fernet(base64.urlsafe_b64encode(derived))


def _key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: a reader never sees half a key.
        draft = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(Fernet.generate_key())
            key_file.flush()
            os.fsync(key_file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: theirs is the key
            pass
        else:
            log.warning(
                "sync.google.secret_key is not set: Google tokens are encrypted with a key made in %s "
                "(set sync.google.secret_key wherever sync runs on several machines)",
                path,
            )
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()
