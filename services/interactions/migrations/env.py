from crm.migrations import run_migrations
from services.interactions.models import Base

run_migrations(Base.metadata)
