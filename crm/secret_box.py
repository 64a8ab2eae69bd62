"""Secrets kept encrypted at rest (Fernet), with a key from a setting (mailin's IMAP passwords,
sync's Google tokens).

The setting holds a Fernet key, or any passphrase (a key is derived from it with the caller's
salt). Empty, a key is made once in ``{data_dir}/<key file>`` and used from then on, with a
warning naming the setting: every process that reads the secrets must share it, so a deployment
on several machines sets it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet

_ROUNDS = 200_000

log = logging.getLogger(__name__)


def cipher(secret_key: str, data_dir: str, *, key_file: str, salt: bytes, setting: str, what: str) -> Fernet:
    """The cipher for ``secret_key`` (the setting named ``setting``), or, when it is empty, for the
    key kept in ``data_dir/key_file`` (made on first use); ``what`` names what it encrypts."""
    return _cipher(secret_key or _key_file(Path(data_dir), key_file, setting, what), salt)


@cache
def _cipher(secret: str, salt: bytes) -> Fernet:
    try:
        if len(base64.urlsafe_b64decode(secret.encode("ascii"))) == 32:
            return Fernet(secret.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        pass
    derived = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, _ROUNDS)
    return Fernet(base64.urlsafe_b64encode(derived))


def _key_file(data_dir: Path, name: str, setting: str, what: str) -> str:
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: a reader never sees half a key.
        draft = data_dir / f".{name}.{os.getpid()}"
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
                "%s is not set: %s are encrypted with a key made in %s (set %s wherever it runs on "
                "several machines)",
                setting,
                what,
                path,
                setting,
            )
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()
