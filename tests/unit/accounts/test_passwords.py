"""Password hashing with argon2."""

from __future__ import annotations

from services.accounts.passwords import generate_password, hash_password, verify_password


def test_a_hashed_password_verifies_only_as_typed():
    stored = hash_password("Pomme-Alice-2024!")

    assert "Pomme-Alice-2024!" not in stored
    assert verify_password(stored, "Pomme-Alice-2024!") is True
    assert verify_password(stored, "pomme-alice-2024!") is False


def test_an_unknown_account_never_matches_even_the_dummy_password():
    assert verify_password(None, "not-a-real-password") is False


def test_a_stored_value_that_is_not_an_argon2_hash_is_a_mismatch_not_a_crash():
    assert verify_password("!", "!") is False
    assert verify_password("$argon2id$v=19$tronque", "Pomme-Alice-2024!") is False


def test_generated_passwords_are_long_enough_and_differ():
    first, second = generate_password(), generate_password()

    assert len(first) >= 10
    assert first != second
