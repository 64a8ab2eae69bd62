"""A real IMAP server for the tests: Dovecot, started in a folder of its own and stopped at the end.

The session starts one Dovecot (``/usr/sbin/dovecot``, Debian package
``dovecot-imapd``; ``.ci/run`` installs it) with its own configuration file,
a passwd-file user database and maildirs, listening on free ports of
127.0.0.1: ``port`` for plain IMAP and STARTTLS, ``tls_port`` for implicit
TLS. Its certificate is self-signed for ``localhost`` and 127.0.0.1
(``ca_file``): a client that does not trust it fails TLS, as against a
server with a bad certificate. Plain login without TLS is allowed, on
loopback only.

Each test takes a user of its own (``dovecot.new_user()``), so tests share
the server and never see each other's mail. Dovecot refuses to run its
processes as root: as root they run as ``dovecot``/``dovenull`` (made by the
package) and the maildirs belong to ``dovecot``; as anyone else, as that user.
"""

from __future__ import annotations

import datetime
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

DOVECOT = "/usr/sbin/dovecot"

_CONFIG = """\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""


@dataclass(frozen=True)
class ImapUser:
    name: str
    password: str


class Dovecot:
    """A running Dovecot: its address, its certificate, and helpers to fill users' mailboxes."""

    host = "127.0.0.1"

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = folder / "dovecot.conf"
        self.ca_file = folder / "cert.pem"
        self.port = _free_port()
        self.tls_port = _free_port()
        self._numbers = itertools.count(1)

    # -- the server ------------------------------------------------------------------------------

    def start(self) -> None:
        if not os.access(DOVECOT, os.X_OK):
            raise RuntimeError(f"{DOVECOT} is missing: apt-get install dovecot-imapd (as .ci/run does)")
        for sub in ("run", "state", "home"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "users").write_text("")
        _write_certificate(self.folder / "cert.pem", self.folder / "key.pem")
        users = _process_users()
        if os.geteuid() == 0:
            mail = pwd.getpwnam(users["mail_user"])
            os.chown(self.folder / "home", mail.pw_uid, mail.pw_gid)
        self.config.write_text(
            _CONFIG.format(folder=self.folder, port=self.port, tls_port=self.tls_port, **users)
        )
        # Dovecot forks into the background: its output goes to a file, never to a pipe kept open.
        with (self.folder / "start.log").open("wb") as output:
            started = subprocess.run(
                [DOVECOT, "-c", str(self.config)], stdout=output, stderr=output, timeout=30
            )
        if started.returncode != 0:
            raise RuntimeError(f"Dovecot did not start: {(self.folder / 'start.log').read_text()}")
        self._wait_for_greeting()

    def stop(self) -> None:
        subprocess.run(
            [DOVECOT, "-c", str(self.config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        pid_file = self.folder / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not answer on port {self.port}:\n{self.log()}")
            time.sleep(0.1)

    # -- users and their mail --------------------------------------------------------------------

    def new_user(self) -> ImapUser:
        """A user of its own with an empty INBOX (Dovecot reads its passwd-file again when it changes)."""
        user = ImapUser(f"scanner{next(self._numbers)}", secrets.token_urlsafe(12))
        with (self.folder / "users").open("a") as users:
            users.write(f"{user.name}:{{PLAIN}}{user.password}::::::\n")
        self._wait_until_known(user)
        return user

    def _wait_until_known(self, user: ImapUser) -> None:
        # Dovecot looks at its passwd-file at most once a second: a user added in the second of
        # an earlier login is unknown until the next one. Wait until the user can log in, so that
        # neither the test nor the service under test meets that window.
        deadline = time.monotonic() + 5
        while True:
            try:
                self.client(user).logout()
                return
            except LoginError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def client(self, user: ImapUser) -> IMAPClient:
        """A logged-in plain IMAP client, for setting up and looking at a user's mailbox."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user.name, user.password)
        return client

    def append(self, user: ImapUser, *messages: bytes, folder: str = "INBOX") -> list[int]:
        """Put ``messages`` in ``folder`` (made when missing); their UIDs."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            uids = []
            for raw in messages:
                answer = client.append(folder, raw)
                uids.append(int(answer.split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]")))
            return uids
        finally:
            client.logout()


def message(number: int, *, subject: str | None = None, size: int = 0, message_id: bool = True) -> bytes:
    """A small e-mail as a scanner sends it; ``size`` pads the body to about that many bytes."""
    headers = [
        "From: Scanner Pomme Siège <scanner@pomme-siege.fr>",
        "To: Camille Martin <camille@pomme-siege.fr>",
        f"Subject: {subject or f'Scan {number}'}",
        "Date: Sun, 06 Dec 2026 08:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if message_id:
        headers.append(f"Message-ID: <scan-{number}@scanner.pomme-siege.fr>")
    body = f"Document numérisé {number}.\r\n"
    if size > len(body):
        body += ("x" * 76 + "\r\n") * (size // 78)
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_users() -> dict[str, str]:
    """Who Dovecot's processes and mail run as: never root, which it refuses."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return {
            "internal_user": me,
            "internal_group": _group_of(me),
            "login_user": me,
            "mail_user": me,
            "mail_group": _group_of(me),
        }
    internal = "dovecot" if _user_exists("dovecot") else "nobody"
    login = "dovenull" if _user_exists("dovenull") else internal
    return {
        "internal_user": internal,
        "internal_group": _group_of(internal),
        "login_user": login,
        "mail_user": internal,
        "mail_group": _group_of(internal),
    }


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_of(name: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(name).pw_gid).gr_name


def _write_certificate(cert_path: Path, key_path: Path) -> None:
    """A self-signed certificate for localhost and 127.0.0.1."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """The session's Dovecot (see the module's docstring); stopped when the session ends."""
    # Not under pytest's temporary folder: Dovecot's processes (not root) could not enter it.
    folder = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    folder.chmod(0o755)
    server = Dovecot(folder)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
