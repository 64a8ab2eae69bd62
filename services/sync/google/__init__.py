"""Google Contacts two-way sync, per user (docs/google-contacts.md).

``connections`` connects a Google account (OAuth 2.0, tokens kept encrypted by
``secrets``); ``runner`` runs the job: ``from_google`` and ``to_google`` each
way, ``mapping`` the product's field mapping and conflict rule, ``crm_side``
the CRM's contacts (sync's replica to read, the contacts service's RPCs to
write), ``job_state`` and ``runs`` the run's batches, progress and log.
"""
