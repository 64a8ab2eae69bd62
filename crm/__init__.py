"""Shared plumbing for the CRM services: settings, database, outbox, auth, errors.

No domain logic lives here; each service under ``services/`` owns its own.
"""
