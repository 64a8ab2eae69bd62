"""Errors raised by the accounts service."""

from crm.errors import Conflict, InvalidInput, NotFound, Unauthenticated

# Shared with every service; raised here too, so callers find it with the others.
from crm.errors import StaleVersion as StaleVersion


class InvalidCredentials(Unauthenticated):
    title = "Invalid credentials"


class SessionRevoked(Unauthenticated):
    title = "Session revoked"


class UserNotFound(NotFound):
    title = "User not found"


class ApiTokenNotFound(NotFound):
    title = "API token not found"


class DuplicateEmail(Conflict):
    title = "E-mail address already in use"


class LastAdmin(Conflict):
    title = "Last active admin"


class AlreadyBootstrapped(Conflict):
    title = "Already bootstrapped"


class WrongPassword(InvalidInput):
    title = "Wrong current password"
