"""The SMTP ingest listener process: aiosmtpd on its own asyncio loop.

``crm serve mailin-smtp`` (and ``crm run``) start it as ``python -m
services.mailin.smtp``: a process of its own, without eventlet. It binds
``mailin.smtp_host``:``mailin.smtp_port``, offers STARTTLS when
``mailin.tls_cert_file`` and ``mailin.tls_key_file`` are set, and stops on
SIGTERM or SIGINT after the conversations in flight are closed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from concurrent.futures import ThreadPoolExecutor

from crm.blobs import open_blob_store
from crm.database import create_service_engine
from crm.settings import Settings
from services.mailin.smtp.handler import ConnectionCounter, IngestHandler, IngestSMTP

log = logging.getLogger(__name__)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context when a certificate and key are configured."""
    mailin = settings.mailin
    if not (mailin.tls_cert_file and mailin.tls_key_file):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(mailin.tls_cert_file, mailin.tls_key_file)
    return context


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    """Accept mail until SIGTERM or SIGINT."""
    mailin = settings.mailin
    # aiosmtpd logs every command at INFO (and message lines at DEBUG): not for production logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(mailin.database_threads, thread_name_prefix="mailin-store")
    engine = create_service_engine(settings, "mailin")
    handler = IngestHandler(
        engine=engine,
        blobs=open_blob_store(settings),
        executor=executor,
        ingest_domain=settings.mail.ingest_domain,
        settings=mailin,
    )
    counter = ConnectionCounter(mailin.max_connections_per_client)
    context = tls_context(settings)

    def conversation() -> IngestSMTP:
        return IngestSMTP(
            handler,
            counter=counter,
            data_timeout=mailin.data_timeout_seconds,
            data_size_limit=mailin.max_message_bytes,
            hostname=mailin.smtp_hostname or settings.mail.ingest_domain,
            ident="CRM mail ingest",
            tls_context=context,
            # AUTH is offered after STARTTLS only (aiosmtpd's auth_require_tls).
            authenticator=handler.authenticate if mailin.smtp_auth else None,
            timeout=mailin.command_timeout_seconds,
            loop=loop,
        )

    server = await loop.create_server(conversation, host=mailin.smtp_host, port=mailin.smtp_port)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    bound = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
    log.info(
        "SMTP ingest listener on %s for @%s%s",
        bound,
        settings.mail.ingest_domain,
        " (STARTTLS offered)" if context else "",
    )
    if mailin.smtp_auth and context is None:
        log.warning("mailin.smtp_auth is on but no certificate is configured: AUTH is never offered")
    if ready is not None:
        ready.set()
    try:
        await stopping.wait()
    finally:
        server.close()
        await server.wait_closed()
        executor.shutdown(wait=True)
        engine.dispose()
