"""Mailbox passwords encrypted at rest (Fernet), with the key from ``mailin.secret_key``.

The setting holds a Fernet key, or any passphrase (a key is derived from it).
Empty, a key is made once in ``{data_dir}/mailin-secret.key`` and used from
then on, with a warning: every mailin process must share the same key, so a
deployment on several machines sets it. A password encrypted with another key
cannot be read: the check says so on the mailbox (``password_unreadable``),
and the user enters the password again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from crm import secret_box
from services.mailin.imap.errors import PASSWORD_UNREADABLE, ImapFailure

KEY_FILE_NAME = "mailin-secret.key"
_SALT = b"crm mailin mailbox passwords"


def cipher(secret_key: str, data_dir: str) -> Fernet:
    """The cipher for ``mailin.secret_key`` (or the key file in ``data_dir`` when it is empty)."""
    return secret_box.cipher(
        secret_key,
        data_dir,
        key_file=KEY_FILE_NAME,
        salt=_SALT,
        setting="mailin.secret_key",
        what="mailbox passwords",
    )


def encrypt(fernet: Fernet, password: str) -> str:
    return fernet.encrypt(password.encode("utf-8")).decode("ascii")


def decrypt(fernet: Fernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise ImapFailure(
            PASSWORD_UNREADABLE,
            "the stored password cannot be decrypted (mailin.secret_key changed): enter the password again",
        ) from exc
