from crm.migrations import run_migrations
from services.sync.models import Base

run_migrations(Base.metadata)
