"""IMAP "check inbox": the client side of reading a user's mailbox (imapclient).

- ``session.py``: connect (implicit TLS, STARTTLS or plain, per mailbox), log
  in and select the folder, each failure turned into an ``ImapFailure`` with a
  code the user can act on (``errors.py``);
- ``fetch.py``: what is new since the mailbox's cursor (UIDVALIDITY and last
  UID), in batches, sizes asked before bodies; and what to do with the
  messages once stored (flag, move, leave).

No database and no service here: ``services/mailin/checks.py`` runs a check
with these and records its outcome on the mailbox.
"""
