"""Access-token verification, the caller it yields, and the read-only / admin guards."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm.auth import Caller, CallerAccess, TokenVerifier, load_public_key
from crm.errors import AdminOnly, ReadOnlyUser, ServiceUnavailable, Unauthenticated

KID = "cle-pomme-2024"
ISSUER = "crm"


def _claims(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "crm",
        "sub": "alice",
        "org": "pomme",
        "role": "admin",
        "ro": False,
        "sid": "session-alice-1",
        "iat": now,
        "exp": now + 900,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(signing_key) -> TokenVerifier:
    return TokenVerifier(lambda: {KID: signing_key.public_key()}, ISSUER)


def _sign(key: Ed25519PrivateKey, kid: str | None = KID, **claims) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(_claims(**claims), key, algorithm="EdDSA", headers=headers)


def _public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- accepted tokens -------------------------------------------------------------------


def test_valid_token_is_mapped_to_its_caller(verifier, signing_key):
    token = _sign(signing_key, sub="bob", org="pomme", role="member", ro=True, sid="s-42")

    caller = verifier.verify(token)

    assert caller == Caller(
        user_id="bob",
        org_id="pomme",
        role="member",
        read_only=True,
        session_id="s-42",
        expires_at=caller.expires_at,
    )
    assert caller.expires_at > time.time()


def test_token_without_role_or_read_only_claims_is_a_writing_member(verifier, signing_key):
    caller = verifier.verify(_sign(signing_key, role=None, ro=None))

    assert (caller.role, caller.is_admin, caller.read_only) == ("member", False, False)


def test_public_keys_load_from_pem_and_from_jwk(signing_key):
    token = _sign(signing_key)
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(signing_key.public_key())

    from_pem = TokenVerifier(lambda: {KID: load_public_key(_public_pem(signing_key).decode())}, ISSUER)
    from_jwk = TokenVerifier(lambda: {KID: load_public_key(jwk)}, ISSUER)

    assert from_pem.verify(token).user_id == from_jwk.verify(token).user_id == "alice"


def test_key_added_after_start_is_picked_up(signing_key):
    newer = Ed25519PrivateKey.generate()
    published = {KID: signing_key.public_key()}
    verifier = TokenVerifier(lambda: dict(published), ISSUER, min_refresh_interval=0)
    verifier.verify(_sign(signing_key))

    published["cle-pomme-2025"] = newer.public_key()

    assert verifier.verify(_sign(newer, kid="cle-pomme-2025")).user_id == "alice"


# -- refused tokens ------------------------------------------------------------------------


def _refusal(verifier: TokenVerifier, token: str | None) -> str:
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify(token)
    return raised.value.detail


def test_expired_token_is_refused(verifier, signing_key):
    past = int(time.time()) - 3600

    assert "expired" in _refusal(verifier, _sign(signing_key, iat=past - 900, exp=past))


def test_token_signed_by_another_key_with_the_same_kid_is_refused(verifier):
    forger = Ed25519PrivateKey.generate()

    assert "signature" in _refusal(verifier, _sign(forger))


def test_token_with_an_unknown_kid_is_refused(verifier, signing_key):
    assert "unknown key" in _refusal(verifier, _sign(signing_key, kid="cle-inconnue"))


def test_token_without_a_kid_is_refused(verifier, signing_key):
    assert "key id" in _refusal(verifier, _sign(signing_key, kid=None))


def test_unsigned_token_with_alg_none_is_refused(verifier):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    token = f"{header}.{_b64(json.dumps(_claims()).encode())}."

    assert "algorithm" in _refusal(verifier, token)


def test_hs256_token_keyed_with_the_public_key_is_refused(verifier, signing_key):
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    payload = _b64(json.dumps(_claims(role="admin")).encode())
    mac = hmac.new(_public_pem(signing_key), f"{header}.{payload}".encode(), hashlib.sha256)
    token = f"{header}.{payload}.{_b64(mac.digest())}"

    assert "algorithm" in _refusal(verifier, token)


@pytest.mark.parametrize("token", ["pas-un-jeton", "a.b.c", "e30.e30", "...."])
def test_malformed_token_is_refused(verifier, token):
    assert "malformed" in _refusal(verifier, token)


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_refused(verifier, token):
    assert "required" in _refusal(verifier, token)


@pytest.mark.parametrize(
    "claims",
    [{"aud": "autre-crm"}, {"iss": "autre-crm"}, {"sid": None}, {"org": None}, {"sub": None}],
    ids=["audience", "issuer", "no-sid", "no-org", "no-sub"],
)
def test_token_with_wrong_or_missing_claims_is_refused(verifier, signing_key, claims):
    _refusal(verifier, _sign(signing_key, **claims))


def test_a_token_refused_once_is_refused_again(verifier):
    forged = _sign(Ed25519PrivateKey.generate())
    _refusal(verifier, forged)

    _refusal(verifier, forged)


# -- key loading --------------------------------------------------------------------------------


def test_keys_that_cannot_be_loaded_make_the_service_unavailable(signing_key):
    def accounts_down():
        raise ConnectionError("accounts is not answering")

    verifier = TokenVerifier(accounts_down, ISSUER)

    with pytest.raises(ServiceUnavailable):
        verifier.verify(_sign(signing_key))


def test_valid_token_is_not_called_unauthenticated_right_after_keys_failed_to_load(signing_key):
    attempts = []

    def flaky_accounts():
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("accounts is restarting")
        return {KID: signing_key.public_key()}

    verifier = TokenVerifier(flaky_accounts, ISSUER)
    token = _sign(signing_key)
    with pytest.raises(ServiceUnavailable):
        verifier.verify(token)

    # The failed load is not remembered as a refresh: the next call loads the keys again at once.
    caller = verifier.verify(token)

    assert len(attempts) == 2
    assert caller.user_id == "alice"


# -- guards -------------------------------------------------------------------------------------


def _caller(role: str = "member", read_only: bool = False) -> Caller:
    return Caller("bob", "pomme", role, read_only, "s-1", int(time.time()) + 900)


def test_read_only_user_is_refused_as_a_writer():
    with pytest.raises(ReadOnlyUser):
        _caller(read_only=True).require_writer()


def test_member_is_refused_as_an_admin():
    with pytest.raises(AdminOnly):
        _caller().require_admin()


def test_writing_admin_passes_both_guards():
    admin = _caller(role="admin")

    assert admin.require_admin().require_writer() is admin


def test_caller_access_guards_the_verified_caller(verifier, signing_key):
    read_only_admin = CallerAccess(verifier, {"access_token": _sign(signing_key, ro=True)})
    member = CallerAccess(verifier, {"access_token": _sign(signing_key, role="member")})

    assert read_only_admin.admin().is_admin
    with pytest.raises(ReadOnlyUser):
        read_only_admin.admin_writer()
    with pytest.raises(ReadOnlyUser):
        read_only_admin.writer()
    assert member.writer().user_id == "alice"
    with pytest.raises(AdminOnly):
        member.admin_writer()


def test_caller_access_without_a_token_is_unauthenticated(verifier):
    access = CallerAccess(verifier, {})

    assert access.has_token is False
    with pytest.raises(Unauthenticated):
        access.user()
