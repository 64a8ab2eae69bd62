"""Errors raised by the messaging service."""

from crm.errors import Conflict, Forbidden, InsufficientCredits, NotFound, ServiceUnavailable

__all__ = ["InsufficientCredits"]


class SmsNotFound(NotFound):
    title = "SMS not found"


class EmailNotFound(NotFound):
    title = "E-mail not found"


class AuthorizationCodeNotFound(NotFound):
    title = "Authorization code not found"


class AuthorizationRefused(Forbidden):
    """The SMS authorization code is wrong, expired, revoked or over its monthly cap (``detail`` says)."""

    title = "Authorization code refused"


class IdempotencyKeyReused(Conflict):
    """An idempotency key came back with a different request."""

    title = "Idempotency key already used for another request"


class PurchaseReferenceUsed(Conflict):
    title = "Purchase reference already used"


class AddressSuppressed(Conflict):
    """The recipient bounced hard or complained earlier; an admin can lift the suppression."""

    title = "Recipient is on the suppression list"


class SuppressionNotFound(NotFound):
    title = "Address is not suppressed"


class ProviderUnavailable(ServiceUnavailable):
    """Every provider we could use failed; nothing was sent and no credit is spent."""

    title = "Provider unavailable"


class ProviderRefused(Conflict):
    """The provider refused the message for good (for instance a number it cannot reach)."""

    title = "Provider refused the message"


class EmailNotSetUp(Conflict):
    """No provider or sender chosen for the organisation yet."""

    title = "E-mail is not set up"
