"""The Google refresh tokens, and the CRM API tokens the job acts with, encrypted at rest (Fernet),
with the key from ``sync.google.secret_key`` (the same approach as mailin's IMAP passwords).

The setting holds a Fernet key, or any passphrase (a key is derived from it).
Empty, a key is made once in ``{data_dir}/sync-secret.key`` and used from then
on, with a warning: every sync process must share it. A token encrypted with
another key cannot be read: the run stops saying so, and the user connects again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from crm import secret_box

KEY_FILE_NAME = "sync-secret.key"
_SALT = b"crm sync google tokens"


class SecretUnreadable(Exception):
    """A token stored with another key (``sync.google.secret_key`` changed)."""


def cipher(secret_key: str, data_dir: str) -> Fernet:
    return secret_box.cipher(
        secret_key,
        data_dir,
        key_file=KEY_FILE_NAME,
        salt=_SALT,
        setting="sync.google.secret_key",
        what="Google tokens",
    )


def encrypt(fernet: Fernet, secret: str) -> str:
    return fernet.encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(fernet: Fernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "a stored token cannot be decrypted (sync.google.secret_key changed): connect Google again"
        ) from exc
