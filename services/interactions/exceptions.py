"""Errors raised by the interactions service."""

from crm.errors import Conflict, Forbidden, NotFound

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
