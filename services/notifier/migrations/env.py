from crm.migrations import run_migrations
from services.notifier.models import Base

run_migrations(Base.metadata)
