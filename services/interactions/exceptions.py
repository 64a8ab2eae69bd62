"""Errors raised by the interactions service."""

from crm.errors import Conflict, Forbidden, InvalidInput, NotFound

# Shared with every service; raised here too, so callers find them with the others.
from crm.errors import IdAlreadyUsed as IdAlreadyUsed
from crm.errors import StaleVersion as StaleVersion


class InteractionNotFound(NotFound):
    title = "Interaction not found"


class ParticipantNotFound(NotFound):
    title = "Not a participant"


class ResourceNotFound(NotFound):
    title = "Resource not found"


class ProjectNotFound(NotFound):
    title = "Project not found"


class TemplateNotFound(NotFound):
    title = "Template not found"


class DocumentNotFound(NotFound):
    title = "Document not found"


class MultiUserInteractionsOff(Conflict):
    """Participants need the organisation setting ``multi_user_interactions``."""

    title = "Multi-user interactions are off"


class DoubleBooking(Conflict):
    """The resource is booked by another interaction at that time; ``errors`` names it."""

    title = "Resource already booked"


class TimerAlreadyRunning(Conflict):
    title = "A timer is already running"


class NoRunningTimer(Conflict):
    title = "No timer is running"


class NotOrganiser(Forbidden):
    """Only the organiser (the owner) or an admin may do this."""

    title = "Organiser only"


class CheckInAlreadyOpen(Conflict):
    """The caller's visit of this interaction is open: check out first."""

    title = "Already checked in"


class NoOpenCheckIn(Conflict):
    title = "Not checked in"


class TooFarToCheckIn(InvalidInput):
    """The interaction's type requires a check-in within its radius of the client; ``detail`` says
    how far the user is and the radius allowed."""

    title = "Too far to check in"


class NotArchived(Conflict):
    """Restoring or purging a record that is not archived (archive it first: ``DELETE``)."""

    title = "Not archived"


class NotInteractionOwner(Forbidden):
    """Only the interaction's owner or an admin may archive (delete) it."""

    title = "Owner or admin only"
