"""The SMTP conversation: who may send, which recipients are taken, and 250 once stored.

The handler parses nothing of the message: it checks the client's network at
``MAIL``, each recipient at ``RCPT`` (mailin's own table of ingest addresses;
an address found is kept for a second, ``recipients.RecentIngestUsers``), and
at the end of ``DATA`` stores the bytes once for every accepted user before it
answers 250: the blob written and fsynced (``store.put_blob``), then its rows
committed, in one commit with those of the messages that end at about the same
time (``group_commit.GroupCommit``). Blocking work (the lookup, the fsync and
the commit) runs on a small thread pool, never on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine

from crm.blobs import BlobStore
from crm.database import DatabaseAccess
from crm.settings import MailinSettings
from services.mailin import recipients, smtp_passwords
from services.mailin.smtp.addresses import plain_address
from services.mailin.smtp.data import read_data
from services.mailin.smtp.group_commit import GroupCommit
from services.mailin.store import put_blob

log = logging.getLogger(__name__)


def is_trusted(peer: Any, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether the client's address (``session.peer``) is in one of the trusted networks."""
    try:
        address = ipaddress.ip_address(peer[0] if isinstance(peer, tuple) else peer)
    except (ValueError, TypeError, IndexError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class IngestHandler:
    """aiosmtpd hooks for the ingest listener."""

    def __init__(
        self,
        *,
        engine: Engine,
        blobs: BlobStore,
        executor: Executor,
        ingest_domain: str,
        settings: MailinSettings,
        on_stored: Callable[[str], None] | None = None,
    ):
        self.engine = engine
        self.database = DatabaseAccess(engine, None)
        self.blobs = blobs
        self.executor = executor
        self.ingest_domain = ingest_domain
        self.max_recipients = settings.max_recipients
        self.trusted_networks = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_networks]
        self.on_stored = on_stored
        self.recent_users = recipients.RecentIngestUsers()
        self.group_commit = GroupCommit(engine, executor)

    async def _blocking(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not is_trusted(session.peer, self.trusted_networks) and not session.authenticated:
            log.info("smtp refused: %s is not in a trusted network", session.peer[0])
            return "530 5.7.0 Authentication required: plain delivery is for the office network only"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        envelope.ingest_users = []  # (org_id, user_id) accepted so far
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients: at most {self.max_recipients} per message"
        user = None
        if recipients.is_ingest_domain(address, self.ingest_domain):
            local_part = recipients.split_address(address)[0]
            user = self.recent_users.get(local_part)
            if user is None:
                user = await self._blocking(self._find, local_part)
                if user is not None:
                    self.recent_users.keep(local_part, user)
        verdict = recipients.judge(address, self.ingest_domain, user)
        if verdict.user is None:
            log.info("smtp recipient refused: %s", verdict.reply[:9])
            return verdict.reply
        login = session.auth_data if session.authenticated else None
        if isinstance(login, smtp_passwords.SmtpLogin) and not is_trusted(
            session.peer, self.trusted_networks
        ):
            if verdict.user.user_id != login.user_id:
                log.info("smtp recipient refused: an authenticated client wrote to another user's address")
                return f"550 5.7.1 <{address}>: from outside the office, write to your own ingest address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        envelope.ingest_users.append((verdict.user.org_id, verdict.user.user_id))
        return verdict.reply

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """AUTH PLAIN or LOGIN (offered over TLS only): the ingest address and its SMTP password."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        try:
            login, password = auth_data.login.decode(), auth_data.password.decode()
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False)
        with self.engine.connect() as connection:
            user = smtp_passwords.check(connection, login, password, self.ingest_domain)
        if user is None:
            log.info("smtp AUTH refused from %s", session.peer[0] if isinstance(session.peer, tuple) else "?")
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=user)

    def _find(self, local_part: str) -> recipients.IngestUser | None:
        with self.database.connect() as connection:  # one SELECT, no BEGIN and ROLLBACK
            return recipients.find_ingest_user(connection, local_part)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        users = list(dict.fromkeys(envelope.ingest_users))
        try:
            stored = await self._blocking(
                put_blob,
                self.blobs,
                envelope.original_content,
                users,
                source="smtp",
                envelope_from=envelope.mail_from or None,
                client_address=session.peer[0] if isinstance(session.peer, tuple) else None,
            )
            await self.group_commit.commit(stored)
        except Exception:
            log.exception("smtp message not stored; the client was told to try again")
            return "451 4.3.0 Could not store the message; try again later"
        raw_message_id = stored.raw_message_id
        if self.on_stored is not None:
            self.on_stored(raw_message_id)
        return f"250 2.0.0 OK stored {raw_message_id} for {len(users)} recipient(s)"


class ConnectionCounter:
    """Open connections per client address, so one client cannot take every slot."""

    def __init__(self, limit: int):
        self.limit = limit
        self.open: Counter[str] = Counter()

    def take(self, address: str) -> bool:
        if self.open[address] >= self.limit:
            return False
        self.open[address] += 1
        return True

    def give_back(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class IngestSMTP(SMTP):
    """aiosmtpd's SMTP with a per-client connection limit and a deadline for a whole DATA.

    Lines of the message may be as long as the message may be: RFC 5321 asks senders for lines of
    at most 1,000 octets, but mail clients and scanners break it (a whole HTML body on one line),
    and refusing them (aiosmtpd's ``500 Line too long``) would bounce a user's mail. Commands keep
    aiosmtpd's own size limits; the message size limit (552) still bounds what is held.
    """

    def __init__(
        self, handler: IngestHandler, *, counter: ConnectionCounter, data_timeout: float, **kwargs: Any
    ):
        if kwargs.get("data_size_limit"):  # read by SMTP.__init__ for its StreamReader's limit
            self.line_length_limit = kwargs["data_size_limit"] + 2
        super().__init__(handler, **kwargs)
        self.counter = counter
        self.data_timeout = data_timeout

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's reading of a MAIL or RCPT address, a plain ``<local@domain>`` read without
        the email package (``addresses.plain_address``: the same answer, a fraction of the CPU)."""
        plain = plain_address(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    async def _handle_client(self) -> None:
        address = str(self.session.peer[0]) if isinstance(self.session.peer, tuple) else "?"
        if not self.counter.take(address):
            log.info("smtp refused: too many connections from %s", address)
            await self.push(f"421 4.7.0 Too many connections from {address}; try again later")
            self.transport.close()
            return
        try:
            await super()._handle_client()
        finally:
            self.counter.give_back(address)

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, the message read by the stretch (``data.read_data``), not line by line."""
        # The command timeout was just restarted for this command; a message gets longer.
        self._reset_timeout(self.data_timeout)
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content = await read_data(self._reader, self.data_size_limit)
        except asyncio.CancelledError:
            log.info("smtp connection lost during DATA")
            self._writer.close()
            raise
        if content is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
