"""Reading received mail: raw bytes to what the CRM keeps (small pure functions, no I/O).

``read_message(raw)`` never raises; see ``shapes.ParsedMail`` for what it gives.
"""

from services.mailin.parsing.reader import read_message
from services.mailin.parsing.shapes import Address, Attachment, ParsedMail, ParseLimits

__all__ = ["Address", "Attachment", "ParseLimits", "ParsedMail", "read_message"]
