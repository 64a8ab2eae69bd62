"""Contacts in and out as CSV: reading files, checking rows, writing batches, import jobs, export.

- ``format``: reading and writing CSV records (encodings, delimiters, formula escapes)
- ``headers``: which column holds which field
- ``rows``: checking one row against the same rules as the API
- ``batches``: writing checked rows, through the bulk writes of ``changes``
- ``jobs``: storing import jobs and listing them with their row errors
- ``runner``: running a job under a lease, a batch per transaction
- ``export``: contacts as CSV, a page at a time
- ``schemas``: what the import and export calls accept
"""
