"""E-mail through Mailjet's official SDK (Send API v3.1), at a configurable API address.

The SDK refuses any API address that is neither a mailjet.com host nor a
loopback one (localhost, 127.0.0.1, ::1): a sandbox for it must listen there.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mailjet_rest import Client
from mailjet_rest.errors import ApiError, MailjetApiError, MailjetNetworkError

from .base import CRM_MESSAGE_ID, Accepted, OutgoingEmail, ProviderError, never_reached

PROVIDER = "mailjet"
DEFAULT_API_BASE = "https://api.mailjet.com/"


class MailjetMail:
    """Sends one e-mail per call; our message id is the CustomID and sits in the EventPayload."""

    def __init__(self, api_key: str, api_secret: str, api_base: str | None = None, timeout: float = 10.0):
        self._client = Client(
            auth=(api_key, api_secret), version="v3.1", api_url=api_base or DEFAULT_API_BASE, timeout=timeout
        )

    def send(self, email: OutgoingEmail) -> Accepted:
        try:
            response = self._client.send.create(data={"Messages": [build_message(email)]})
            answer = response.json()["Messages"][0]
        except MailjetNetworkError as error:
            raise ProviderError(
                PROVIDER,
                f"Mailjet did not answer: {error}",
                retryable=True,
                outcome_unknown=not never_reached(error.__cause__),
            ) from error
        except ApiError as error:
            raise _refusal(error) from error
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ProviderError(PROVIDER, f"unreadable answer: {error}", retryable=False) from error
        if answer.get("Status") != "success":
            raise ProviderError(PROVIDER, _error_messages(answer), retryable=False)
        return Accepted(PROVIDER, _recipient_message_id(answer, email.to_email), "queued")


def build_message(email: OutgoingEmail) -> dict[str, Any]:
    message: dict[str, Any] = {
        "From": _address(email.sender_email, email.sender_name),
        "To": [_address(email.to_email, email.to_name)],
        "Subject": email.subject,
        "CustomID": email.message_id,
        "EventPayload": json.dumps({CRM_MESSAGE_ID: email.message_id}),
    }
    if email.text is not None:
        message["TextPart"] = email.text
    if email.html is not None:
        message["HTMLPart"] = email.html
    if email.reply_to:
        message["ReplyTo"] = {"Email": email.reply_to}
    if email.attachments:
        message["Attachments"] = [
            {
                "ContentType": attachment.content_type,
                "Filename": attachment.filename,
                "Base64Content": base64.b64encode(attachment.content).decode("ascii"),
            }
            for attachment in email.attachments
        ]
    return message


def _address(email: str, name: str | None) -> dict[str, str]:
    return {"Email": email, "Name": name} if name else {"Email": email}


def _recipient_message_id(answer: dict[str, Any], to_email: str) -> str:
    recipients = answer.get("To") or []
    for recipient in recipients:
        if str(recipient.get("Email", "")).lower() == to_email.lower():
            return str(recipient["MessageID"])
    if recipients and "MessageID" in recipients[0]:
        return str(recipients[0]["MessageID"])
    raise ProviderError(PROVIDER, "the answer has no MessageID for the recipient", retryable=False)


def _refusal(error: ApiError) -> ProviderError:
    status = _status_code(error)
    # Without a status the SDK saw a 5xx or exhausted its own retries: worth another try later.
    retryable = status is None or status == 429 or status >= 500
    reason = f"HTTP {status}: {error}" if status else str(error)
    return ProviderError(PROVIDER, reason, retryable=retryable, code=None if status is None else str(status))


def _status_code(error: ApiError) -> int | None:
    if isinstance(error, MailjetApiError) and error.status_code:
        return error.status_code
    response = getattr(error.__cause__, "response", None)
    return getattr(response, "status_code", None)


def _error_messages(answer: dict[str, Any]) -> str:
    errors = answer.get("Errors") or []
    return (
        "; ".join(str(error.get("ErrorMessage", error)) for error in errors) or "Mailjet refused the message"
    )
