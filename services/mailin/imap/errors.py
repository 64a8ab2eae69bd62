"""What went wrong talking to an IMAP server, in words a user can act on.

Each failure has a ``code`` (kept on the mailbox and answered by "test") and a
``detail`` naming the host, the folder or the server's own answer.
"""

from __future__ import annotations

import socket
import ssl

from imapclient.exceptions import IMAPClientError, LoginError

AUTH_FAILED = "auth_failed"
TLS_FAILED = "tls_failed"
HOST_UNREACHABLE = "host_unreachable"
FOLDER_MISSING = "folder_missing"
SERVER_ERROR = "server_error"
PASSWORD_UNREADABLE = "password_unreadable"

CODES = (AUTH_FAILED, TLS_FAILED, HOST_UNREACHABLE, FOLDER_MISSING, SERVER_ERROR, PASSWORD_UNREADABLE)
_SERVER_TEXT_CHARS = 200


class ImapFailure(Exception):
    """A check or test that could not go on; ``code`` is one of ``CODES``."""

    def __init__(self, code: str, detail: str):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def server_text(exc: BaseException) -> str:
    """The server's answer carried by an imapclient error, short and on one line."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    if text[:2] in ("b'", 'b"') and text[-1:] == text[1]:  # imapclient words some answers as repr(bytes)
        text = text[2:-1]
    return " ".join(str(text).split())[:_SERVER_TEXT_CHARS]


def failure_of(exc: BaseException, host: str, port: int, timeout: float) -> ImapFailure:
    """The ``ImapFailure`` an exception from connecting, logging in or reading stands for."""
    where = f"{host}:{port}"
    if isinstance(exc, ImapFailure):
        return exc
    if isinstance(exc, LoginError):
        return ImapFailure(AUTH_FAILED, f"{where} refused the user name or password ({server_text(exc)})")
    if isinstance(exc, ssl.SSLError):  # before OSError, which it is too
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        return ImapFailure(TLS_FAILED, f"TLS with {where} failed: {reason}")
    if isinstance(exc, socket.gaierror):
        return ImapFailure(HOST_UNREACHABLE, f"no such host: {host}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return ImapFailure(HOST_UNREACHABLE, f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return ImapFailure(HOST_UNREACHABLE, f"{where} refused the connection (nothing listens there)")
    if isinstance(exc, OSError):
        return ImapFailure(HOST_UNREACHABLE, f"cannot reach {where}: {exc.strerror or exc}")
    if isinstance(exc, IMAPClientError):
        return ImapFailure(SERVER_ERROR, f"{where} answered: {server_text(exc)}")
    raise exc
