"""The sandbox's SendGrid event-signing key: the emulation signs with it, the gateway verifies.

It is derived from a fixed phrase, so that the emulation and the gateway (two
processes) agree on it without sharing any state. That key protects nothing:
it is for sandbox mode only, never for live traffic.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@cache
def sandbox_signing_key() -> ec.EllipticCurvePrivateKey:
    seed = int.from_bytes(hashlib.sha256(b"crm provider sandbox, not a secret").digest(), "big")
    return ec.derive_private_key(seed % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def sandbox_sendgrid_public_key() -> str:
    return public_key_b64(sandbox_signing_key())


def public_key_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")
