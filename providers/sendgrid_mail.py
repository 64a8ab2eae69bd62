"""E-mail through SendGrid's official SDK (v3 Mail Send), at a configurable API address."""

from __future__ import annotations

import base64
import json

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Mail,
    ReplyTo,
    To,
)

from .base import CRM_MESSAGE_ID, Accepted, OutgoingEmail, ProviderError, never_reached

PROVIDER = "sendgrid"
DEFAULT_API_BASE = "https://api.sendgrid.com"


class SendGridMail:
    """Sends one e-mail per call; our message id rides in ``custom_args`` so events map back."""

    def __init__(self, api_key: str, api_base: str | None = None, timeout: float = 10.0):
        self._client = SendGridAPIClient(api_key, host=(api_base or DEFAULT_API_BASE).rstrip("/"))
        # The SDK has no timeout argument; its HTTP client reads this attribute on every call.
        self._client.client.timeout = timeout

    def send(self, email: OutgoingEmail) -> Accepted:
        try:
            response = self._client.send(build_mail(email))
        except HTTPError as error:
            retryable = error.status_code == 429 or error.status_code >= 500
            reason = f"HTTP {error.status_code}: {_error_messages(error.body)}"
            raise ProviderError(PROVIDER, reason, retryable=retryable, code=str(error.status_code)) from error
        except OSError as error:  # URLError, refused or reset connections, timeouts
            raise ProviderError(
                PROVIDER,
                f"SendGrid did not answer: {error}",
                retryable=True,
                outcome_unknown=not never_reached(error),
            ) from error
        message_id = response.headers.get("X-Message-Id")
        if not message_id:
            raise ProviderError(PROVIDER, "the answer has no X-Message-Id header", retryable=False)
        return Accepted(PROVIDER, message_id, "queued")


def build_mail(email: OutgoingEmail) -> Mail:
    mail = Mail(
        from_email=From(email.sender_email, email.sender_name),
        to_emails=To(email.to_email, email.to_name),
        subject=email.subject,
        plain_text_content=email.text,
        html_content=email.html,
    )
    mail.custom_arg = CustomArg(CRM_MESSAGE_ID, email.message_id)
    if email.reply_to:
        mail.reply_to = ReplyTo(email.reply_to)
    for attachment in email.attachments:
        mail.add_attachment(
            Attachment(
                FileContent(base64.b64encode(attachment.content).decode("ascii")),
                FileName(attachment.filename),
                FileType(attachment.content_type),
                Disposition("attachment"),
            )
        )
    return mail


def _error_messages(body: bytes | str | None) -> str:
    """SendGrid's ``{"errors": [{"message", "field"}]}`` as one line."""
    try:
        errors = json.loads(body or b"")["errors"]
        return "; ".join(
            f"{error['field']}: {error['message']}" if error.get("field") else str(error["message"])
            for error in errors
        )
    except (ValueError, KeyError, TypeError):
        return (body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")).strip()
