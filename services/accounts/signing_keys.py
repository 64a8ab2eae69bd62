"""The Ed25519 keys that sign access tokens, stored in the accounts database.

Private keys are encrypted at rest when ``auth.key_passphrase`` is set. Public
keys are handed to every other service through ``get_public_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.ids import new_id
from crm.times import utcnow
from services.accounts.models import SigningKey


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Ed25519PrivateKey


def _encryption(passphrase: str) -> serialization.KeySerializationEncryption:
    if passphrase:
        return serialization.BestAvailableEncryption(passphrase.encode())
    return serialization.NoEncryption()


def create_signing_key(session: Session, passphrase: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    key = SigningKey(
        kid=new_id(),
        private_key=private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase)
        ).decode(),
        public_key=private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        created_at=utcnow(),
    )
    session.add(key)
    return key


def current_key(session: Session, passphrase: str) -> ActiveKey:
    """The newest unretired key, created on first use."""
    key = session.scalars(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
    ).first()
    if key is None:
        try:
            with session.begin_nested():
                key = create_signing_key(session, passphrase)
        except IntegrityError:  # another process made one first
            return current_key(session, passphrase)
    if passphrase:
        encrypt_stored_keys(session, passphrase)
    return ActiveKey(kid=key.kid, private_key=_private_key(key, passphrase))


class KeyPassphraseMismatch(Exception):
    """The stored signing keys are encrypted and ``auth.key_passphrase`` does not open them."""


def _is_encrypted(pem: str) -> bool:
    return pem.lstrip().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")


def _private_key(key: SigningKey, passphrase: str) -> Ed25519PrivateKey:
    encrypted = _is_encrypted(key.private_key)
    if encrypted and not passphrase:
        raise KeyPassphraseMismatch(
            "the token signing keys are encrypted and auth.key_passphrase is empty: "
            "set the passphrase they were encrypted with"
        )
    try:
        private = serialization.load_pem_private_key(
            key.private_key.encode(), password=passphrase.encode() if encrypted else None
        )
    except ValueError:
        raise KeyPassphraseMismatch(
            "auth.key_passphrase does not decrypt the token signing keys: set the passphrase they "
            "were encrypted with"
        ) from None
    return private  # type: ignore[return-value]


def encrypt_stored_keys(session: Session, passphrase: str) -> int:
    """Encrypt the private keys stored without encryption (made before ``auth.key_passphrase``
    was set) with ``passphrase``; how many."""
    plain = [key for key in session.scalars(select(SigningKey)) if not _is_encrypted(key.private_key)]
    for key in plain:
        private = serialization.load_pem_private_key(key.private_key.encode(), password=None)
        key.private_key = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase)
        ).decode()
    return len(plain)


def public_keys(session: Session) -> list[dict[str, Any]]:
    keys = session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))).all()
    return [{"kid": key.kid, "public_key": key.public_key, "algorithm": "EdDSA"} for key in keys]


def rotate(session: Session, passphrase: str) -> str:
    """Make a new current key; older ones keep verifying until retired."""
    return create_signing_key(session, passphrase).kid
