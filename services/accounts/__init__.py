"""accounts: organisations, users, tokens, signing keys, org settings, user secrets."""
