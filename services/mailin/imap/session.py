"""Connect to a mailbox's server, log in and select its folder.

``security`` is ``tls`` (implicit TLS, usually port 993) or ``starttls`` (plain
connection upgraded before login, usually 143); a password never crosses the
network in clear. Certificates are checked against the system's authorities and
``mailin.imap_ca_file``. Sockets and TLS are eventlet's green ones in a
service process (monkey patched), so a slow server stalls only its own worker.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from imapclient import IMAPClient

from services.mailin.imap.errors import FOLDER_MISSING, TLS_FAILED, ImapFailure, failure_of

SECURITIES = ("tls", "starttls")


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str


@dataclass(frozen=True)
class ImapOptions:
    timeout_seconds: float = 30.0
    ca_file: str = ""


@dataclass(frozen=True)
class SelectedFolder:
    uid_validity: int
    messages: int


def tls_context(options: ImapOptions) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if options.ca_file:
        try:
            context.load_verify_locations(cafile=options.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ImapFailure(TLS_FAILED, f"the CA file {options.ca_file} cannot be read: {exc}") from exc
    return context


def _connect(account: ImapAccount, options: ImapOptions) -> IMAPClient:
    context = tls_context(options)
    client = IMAPClient(
        account.host,
        port=account.port,
        ssl=account.security == "tls",
        ssl_context=context,
        timeout=options.timeout_seconds,
    )
    try:
        if account.security == "starttls":
            if not client.has_capability("STARTTLS"):
                raise ImapFailure(TLS_FAILED, f"{account.host}:{account.port} does not offer STARTTLS")
            client.starttls(context)
        client.login(account.username, account.password)
    except BaseException:
        with suppress(Exception):
            client.shutdown()
        raise
    return client


@contextmanager
def logged_in(account: ImapAccount, options: ImapOptions) -> Iterator[IMAPClient]:
    """A client logged in to ``account``'s server; any failure, then or while used, is an
    ``ImapFailure``. Logs out at the end."""
    client = None
    try:
        client = _connect(account, options)
        yield client
    except Exception as exc:
        raise failure_of(exc, account.host, account.port, options.timeout_seconds) from exc
    finally:
        if client is not None:
            with suppress(Exception):
                client.logout()


def require_folder(client: IMAPClient, folder: str, what: str = "folder") -> None:
    if not client.folder_exists(folder):
        raise ImapFailure(FOLDER_MISSING, f"the server has no {what} {folder!r}")


def select_folder(client: IMAPClient, folder: str) -> SelectedFolder:
    """Select ``folder`` read-write; a missing one is ``folder_missing``."""
    require_folder(client, folder)
    answer = client.select_folder(folder)
    return SelectedFolder(uid_validity=int(answer[b"UIDVALIDITY"]), messages=int(answer.get(b"EXISTS", 0)))


def try_account(account: ImapAccount, options: ImapOptions, move_to: str | None = None) -> int:
    """Log in, select the folder (and look for the folder to move to): what a user checks before
    relying on the mailbox. The number of messages in the folder."""
    with logged_in(account, options) as client:
        selected = select_folder(client, account.folder)
        if move_to:
            require_folder(client, move_to, "folder to move to")
    return selected.messages
