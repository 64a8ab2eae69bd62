"""E-mail handed to an SMTP relay with smtplib; the relay's answer is all we learn."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from .base import Accepted, OutgoingEmail, ProviderError

PROVIDER = "smtp"
MESSAGE_ID_HEADER = "X-CRM-Message-Id"


class SmtpMail:
    """One connection per message: simple, and the relay sees each message on its own."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, email: OutgoingEmail) -> Accepted:
        try:
            message = build_message(email)
        except ValueError as error:  # a header with a line break, an address the email package rejects
            raise ProviderError(PROVIDER, f"cannot build the message: {error}", retryable=False) from error
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as connection:
                if self.starttls:
                    connection.starttls(context=ssl.create_default_context())
                if self.username:
                    connection.login(self.username, self.password or "")
                connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            reason = "; ".join(
                f"{code} {text.decode('utf-8', 'replace')}" for code, text in error.recipients.values()
            )
            raise ProviderError(
                PROVIDER, f"recipient refused: {reason}", retryable=_temporary(*codes), code=str(codes[0])
            ) from error
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, authentication failed
            reason = f"{error.smtp_code} {_text(error.smtp_error)}"
            retryable = _temporary(error.smtp_code)
            raise ProviderError(PROVIDER, reason, retryable=retryable, code=str(error.smtp_code)) from error
        except smtplib.SMTPNotSupportedError as error:  # STARTTLS or AUTH asked of a relay without them
            raise ProviderError(PROVIDER, str(error), retryable=False) from error
        except (smtplib.SMTPException, OSError) as error:  # disconnected, refused, timed out
            raise ProviderError(PROVIDER, f"the relay did not answer: {error}", retryable=True) from error
        return Accepted(PROVIDER, message["Message-ID"], "queued")


def build_message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name or "", email.sender_email))
    message["To"] = formataddr((email.to_name or "", email.to_email))
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    # The sender's domain, not socket.getfqdn(): that one may wait on DNS.
    # The sender's domain, unless it is so long the id would not fit where providers' ids are kept.
    domain = email.sender_email.rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain if 0 < len(domain) <= 100 else "crm.localhost")
    message[MESSAGE_ID_HEADER] = email.message_id
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    if email.text is not None or email.html is None:
        message.set_content(email.text or "")
        if email.html is not None:
            message.add_alternative(email.html, subtype="html")
    else:
        message.set_content(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _temporary(*codes: int) -> bool:
    """4xx replies say "try again later"; 5xx say "never"."""
    return bool(codes) and all(400 <= code < 500 for code in codes)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
