"""A minimal SMTP relay on a real port, for tests: it accepts mail and keeps what it received.

Recipients in ``REFUSED`` get that reply, as a real relay would answer them.
"""

from __future__ import annotations

import socketserver
import threading

# Recipients the relay answers with a given reply, like a real one would.
REFUSED = {
    "inconnu@pomme-siege.fr": b"550 5.1.1 No such user",
    "occupe@pomme-siege.fr": b"450 4.2.1 Mailbox busy, try later",
}


class _RelayHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, RSET, QUIT."""

    def handle(self) -> None:
        self.wfile.write(b"220 relay.sandbox.test ESMTP\r\n")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb, _, argument = line.decode("utf-8").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-relay.sandbox.test\r\n250 8BITMIME\r\n")
            elif verb == "RCPT":
                address = argument.partition(":")[2].strip().strip("<>")
                reply = REFUSED.get(address, b"250 2.1.5 OK")
                if reply.startswith(b"250"):
                    recipients.append(address)
                self.wfile.write(reply + b"\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                self.server.received.append((recipients, self._read_data()))
                self.wfile.write(b"250 2.0.0 Queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            elif verb in ("MAIL", "RSET", "NOOP", "HELO"):
                recipients = [] if verb != "NOOP" else recipients
                self.wfile.write(b"250 2.0.0 OK\r\n")
            else:
                self.wfile.write(b"502 5.5.2 Not implemented\r\n")

    def _read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) != b".\r\n":
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class SmtpRelay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.received: list[tuple[list[str], bytes]] = []
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
