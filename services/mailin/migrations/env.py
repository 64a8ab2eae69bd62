from crm.migrations import run_migrations
from services.mailin.models import Base

run_migrations(Base.metadata)
