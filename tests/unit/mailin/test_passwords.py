"""Mailbox passwords at rest: encrypted with mailin.secret_key (a Fernet key or a passphrase), or
with a key made once in the data folder; another key cannot read them, and says so."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from services.mailin import passwords
from services.mailin.imap.errors import PASSWORD_UNREADABLE, ImapFailure


def test_a_fernet_key_encrypts_and_decrypts(tmp_path):
    key = Fernet.generate_key().decode()
    token = passwords.encrypt(passwords.cipher(key, str(tmp_path)), "Chambre-404!")

    assert "Chambre-404!" not in token
    assert Fernet(key.encode()).decrypt(token.encode()) == b"Chambre-404!"
    assert passwords.decrypt(passwords.cipher(key, str(tmp_path)), token) == "Chambre-404!"


def test_a_passphrase_is_a_key_too(tmp_path):
    token = passwords.encrypt(passwords.cipher("pomme siège central", str(tmp_path)), "mot de passe")

    assert passwords.decrypt(passwords.cipher("pomme siège central", str(tmp_path)), token) == "mot de passe"
    assert not (tmp_path / passwords.KEY_FILE_NAME).exists()


def test_without_a_secret_key_one_is_made_once_in_the_data_folder(tmp_path):
    token = passwords.encrypt(passwords.cipher("", str(tmp_path)), "mot de passe")
    key_file = tmp_path / passwords.KEY_FILE_NAME

    assert key_file.stat().st_mode & 0o777 == 0o600
    assert passwords.decrypt(passwords.cipher("", str(tmp_path)), token) == "mot de passe"
    assert passwords.decrypt(passwords.cipher(key_file.read_text(), str(tmp_path)), token) == "mot de passe"
    assert [path.name for path in tmp_path.iterdir()] == [passwords.KEY_FILE_NAME]


def test_a_password_encrypted_with_another_key_is_unreadable_and_says_so(tmp_path):
    token = passwords.encrypt(passwords.cipher("ancienne clé", str(tmp_path)), "mot de passe")

    with pytest.raises(ImapFailure) as failure:
        passwords.decrypt(passwords.cipher("nouvelle clé", str(tmp_path)), token)

    assert failure.value.code == PASSWORD_UNREADABLE
    assert "enter the password again" in failure.value.detail
