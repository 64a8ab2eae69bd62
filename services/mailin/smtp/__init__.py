"""The SMTP ingest listener: its own asyncio process (see ``server.py``)."""
