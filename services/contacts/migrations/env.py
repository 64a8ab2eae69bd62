from crm.migrations import run_migrations
from services.contacts.models import Base

run_migrations(Base.metadata)
