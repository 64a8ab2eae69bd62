"""The SMTP sender drives smtplib against a minimal SMTP relay on a real port."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy

import pytest

from services.messaging.providers.base import Attachment, OutgoingEmail, ProviderError
from services.messaging.providers.smtp_mail import SmtpMail

from .sandbox_fixtures import closed_port_url

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


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.received: list[tuple[list[str], bytes]] = []


@pytest.fixture(scope="module")
def relay():
    relay = _Relay()
    thread = threading.Thread(target=relay.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield relay
    relay.shutdown()
    relay.server_close()
    thread.join()


def booking_email(message_id: str, to_email: str = "claire.martin@example.fr") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        sender_email="reservations@pomme-siege.fr",
        sender_name="Pomme Siège Central",
        to_email=to_email,
        to_name="Claire Martin",
        subject="Votre chambre 404",
        text="La chambre 404 vous attend.",
        html="<p>La chambre 404 vous attend.</p>",
        reply_to="accueil@pomme-siege.fr",
        attachments=(Attachment("plan.pdf", "application/pdf", b"%PDF-1.4"),),
    )


def test_relay_receives_the_message_with_our_id_and_the_message_id_we_return(relay):
    accepted = SmtpMail("127.0.0.1", relay.server_address[1]).send(booking_email("msg-smtp-1"))

    recipients, data = relay.received[-1]
    message = message_from_bytes(data, policy=policy.default)
    assert recipients == ["claire.martin@example.fr"]
    assert message["X-CRM-Message-Id"] == "msg-smtp-1"
    assert message["Message-ID"] == accepted.provider_message_id
    assert accepted.provider_message_id.endswith("@pomme-siege.fr>")
    assert str(message["From"]) == "Pomme Siège Central <reservations@pomme-siege.fr>"
    assert message["Reply-To"] == "accueil@pomme-siege.fr"
    assert message.get_body(("plain",)).get_content().strip() == "La chambre 404 vous attend."
    assert message.get_body(("html",)).get_content().strip() == "<p>La chambre 404 vous attend.</p>"
    assert [part.get_filename() for part in message.iter_attachments()] == ["plan.pdf"]


def test_recipient_refused_for_good_is_not_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1]).send(
            booking_email("msg-smtp-2", "inconnu@pomme-siege.fr")
        )

    assert (refused.value.retryable, refused.value.code) == (False, "550")
    assert "No such user" in refused.value.reason


def test_recipient_refused_for_now_is_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1]).send(
            booking_email("msg-smtp-3", "occupe@pomme-siege.fr")
        )

    assert (refused.value.retryable, refused.value.code) == (True, "450")


def test_unreachable_relay_is_retryable():
    port = int(closed_port_url().rsplit(":", 1)[1])

    with pytest.raises(ProviderError) as failed:
        SmtpMail("127.0.0.1", port, timeout=2).send(booking_email("msg-smtp-4"))

    assert failed.value.retryable is True


def test_starttls_asked_of_a_relay_without_it_is_not_retryable(relay):
    with pytest.raises(ProviderError) as refused:
        SmtpMail("127.0.0.1", relay.server_address[1], starttls=True).send(booking_email("msg-smtp-5"))

    assert refused.value.retryable is False
