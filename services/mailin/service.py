"""mailin: mail sent or fetched for users becomes ``mail_received``. Entrypoints only."""

from __future__ import annotations

from crm.database import Database
from crm.health import Pingable
from services.mailin.models import Base
from services.mailin.service_mailboxes import MailboxesMixin


class MailinService(Pingable, MailboxesMixin):
    name = "mailin"

    db = Database(Base.metadata)
