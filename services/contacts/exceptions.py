"""Errors raised by the contacts service."""

from crm.errors import Conflict, NotFound

# Shared with every service; raised here too, so callers find them with the others.
from crm.errors import IdAlreadyUsed as IdAlreadyUsed
from crm.errors import StaleVersion as StaleVersion


class CompanyNotFound(NotFound):
    title = "Company not found"


class ContactNotFound(NotFound):
    title = "Contact not found"


class EmploymentNotFound(NotFound):
    title = "Employment not found"


class InterestNotFound(NotFound):
    title = "Interest not found"


class ImportJobNotFound(NotFound):
    title = "Import not found"


class DuplicateContactEmail(Conflict):
    """The e-mail already belongs to another contact; ``errors`` names it (``contact_id``)."""

    title = "E-mail address already belongs to a contact"


class DuplicateInterest(Conflict):
    title = "Interest already exists"


class NotArchived(Conflict):
    """Restoring or purging a record that is not archived (archive it first: ``DELETE``)."""

    title = "Not archived"
