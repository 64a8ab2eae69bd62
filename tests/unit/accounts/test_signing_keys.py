"""The Ed25519 keys that sign access tokens, on a migrated SQLite database."""

from __future__ import annotations

import jwt
import pytest
from sqlalchemy.orm import Session

from crm.auth import load_public_key
from crm.database import create_service_engine
from crm.migrations import upgrade
from crm.settings import Settings
from services.accounts import signing_keys
from services.accounts.models import SigningKey


@pytest.fixture
def session(tmp_path):
    settings = Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path}/{{service}}.db"}})
    upgrade(settings, "accounts")
    engine = create_service_engine(settings, "accounts")
    with Session(engine) as session:
        yield session
    engine.dispose()


def _signs_verifiably(key: signing_keys.ActiveKey, public_pem: str) -> bool:
    token = jwt.encode({"sub": "alice"}, key.private_key, algorithm="EdDSA")
    return jwt.decode(token, load_public_key(public_pem), algorithms=["EdDSA"])["sub"] == "alice"


def test_first_use_creates_a_key_and_later_uses_return_the_same(session):
    first = signing_keys.current_key(session, "")
    session.commit()

    again = signing_keys.current_key(session, "")

    assert again.kid == first.kid
    assert session.query(SigningKey).count() == 1


def test_published_public_key_verifies_what_the_current_key_signs(session):
    key = signing_keys.current_key(session, "")

    (published,) = signing_keys.public_keys(session)

    assert (published["kid"], published["algorithm"]) == (key.kid, "EdDSA")
    assert _signs_verifiably(key, published["public_key"])


def test_private_key_is_encrypted_at_rest_with_a_passphrase(session):
    key = signing_keys.current_key(session, "phrase secrète de Pomme")
    stored = session.get(SigningKey, key.kid)

    assert "ENCRYPTED PRIVATE KEY" in stored.private_key
    assert signing_keys.current_key(session, "phrase secrète de Pomme").kid == key.kid


def test_an_encrypted_key_without_its_passphrase_is_refused_naming_the_setting(session):
    signing_keys.current_key(session, "phrase secrète de Pomme")

    with pytest.raises(signing_keys.KeyPassphraseMismatch, match="auth.key_passphrase is empty"):
        signing_keys.current_key(session, "")
    with pytest.raises(signing_keys.KeyPassphraseMismatch, match="does not decrypt"):
        signing_keys.current_key(session, "Chambre 404")


def test_a_passphrase_set_on_a_running_deployment_encrypts_the_keys_it_made_without(session):
    old = signing_keys.current_key(session, "")
    session.commit()
    newer_kid = signing_keys.rotate(session, "")
    session.commit()

    key = signing_keys.current_key(session, "phrase secrète de Pomme")
    session.commit()

    assert key.kid == newer_kid
    stored = session.query(SigningKey).all()
    assert len(stored) == 2 and all("ENCRYPTED PRIVATE KEY" in row.private_key for row in stored)
    published = {entry["kid"]: entry["public_key"] for entry in signing_keys.public_keys(session)}
    assert _signs_verifiably(key, published[newer_kid]) and _signs_verifiably(old, published[old.kid])
    assert signing_keys.current_key(session, "phrase secrète de Pomme").kid == newer_kid


def test_rotation_makes_a_new_current_key_and_the_old_one_keeps_verifying(session):
    old = signing_keys.current_key(session, "")
    session.commit()

    new_kid = signing_keys.rotate(session, "")
    session.commit()

    published = {entry["kid"]: entry["public_key"] for entry in signing_keys.public_keys(session)}
    assert set(published) == {old.kid, new_kid}
    assert signing_keys.current_key(session, "").kid == new_kid
    assert _signs_verifiably(old, published[old.kid])
