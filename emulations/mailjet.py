"""Mailjet's Send API v3.1: POST /v3.1/send.

Answers as Mailjet does (basic auth with the API key and secret, Mailjet's
error codes; one wrong message refuses the whole batch), then posts the event
callback Mailjet would post, grouped, with the basic auth of its URL.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.courier import Courier, Webhook
from emulations.http import json_response, same
from emulations.messages import AcceptedMessages, SandboxMessage
from emulations.outcomes import BOUNCE_DOMAIN, bounces

# The defaults match crm.settings' sandbox defaults, so a sandbox-mode service needs no credentials.
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"


class MailjetEmulation:
    """Accepts e-mail like Mailjet; ``courier`` is None when no event is to be posted."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        accepted: AcceptedMessages,
        courier: Courier | None,
        *,
        event_url: str | None = None,
        event_auth: tuple[str, str] | None = None,
    ):
        self.api_key = api_key
        self.api_secret = api_secret
        self.event_url = event_url
        self.event_auth = event_auth
        self._accepted = accepted
        self._courier = courier

    def rules(self) -> list[Rule]:
        return [Rule("/v3.1/send", methods=["POST"], endpoint=self.send)]

    def send(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or not same(auth.username, self.api_key) or not same(auth.password, self.api_secret):
            message = (
                "API key authentication/authorization failure. You may be unauthorized to access the API "
                "or your API key may be expired. Visit API keys management section to check your keys."
            )
            return json_response(
                401, {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": 401, "ErrorMessage": message}
            )
        document = request.get_json(silent=True)
        messages = document.get("Messages") if isinstance(document, dict) else None
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            message = "Malformed JSON, please review the syntax and properties types."
            return json_response(
                400,
                {
                    "ErrorIdentifier": str(uuid.uuid4()),
                    "ErrorCode": "mj-0002",
                    "ErrorMessage": message,
                    "StatusCode": 400,
                },
            )
        problems = [_mailjet_message_errors(message) for message in messages]
        if any(problems):
            # Mailjet sends none of the batch when one message is wrong.
            return json_response(
                400, {"Messages": [{"Status": "error", "Errors": errors} for errors in problems]}
            )

        answers, events = [], []
        for message in messages:
            recipients = []
            for recipient in message["To"]:
                message_id = secrets.randbelow(9 * 10**16) + 10**16  # Mailjet's ids are 17-digit numbers
                message_uuid = str(uuid.uuid4())
                self._accepted.add(
                    SandboxMessage(
                        "mailjet",
                        str(message_id),
                        recipient["Email"],
                        message["From"]["Email"],
                        message.get("TextPart"),
                        subject=message.get("Subject"),
                        html=message.get("HTMLPart"),
                        crm_message_id=message.get("CustomID") or None,
                        reply_to=(message.get("ReplyTo") or {}).get("Email"),
                        attachments=tuple(
                            item.get("Filename", "") for item in message.get("Attachments") or ()
                        ),
                    )
                )
                recipients.append(
                    {
                        "Email": recipient["Email"],
                        "MessageUUID": message_uuid,
                        "MessageID": message_id,
                        "MessageHref": f"{request.host_url}v3/REST/message/{message_id}",
                    }
                )
                events.append(_mailjet_event(message, recipient["Email"], message_id, message_uuid))
            answers.append(
                {
                    "Status": "success",
                    "CustomID": message.get("CustomID", ""),
                    "To": recipients,
                    "Cc": [],
                    "Bcc": [],
                }
            )
        if self.event_url and self._courier is not None:
            body = json.dumps(events).encode("utf-8")  # grouped, as with Mailjet's "group events" option
            webhook = Webhook(self.event_url, body, {"Content-Type": "application/json"}, self.event_auth)
            self._courier.post(str(events[0]["MessageID"]), lambda: webhook)
        return json_response(200, {"Messages": answers})


def _mailjet_message_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    def error(code: str, text: str, related_to: str) -> dict[str, Any]:
        return {
            "ErrorIdentifier": str(uuid.uuid4()),
            "ErrorCode": code,
            "StatusCode": 400,
            "ErrorMessage": text,
            "ErrorRelatedTo": [related_to],
        }

    errors = []
    if "@" not in str((message.get("From") or {}).get("Email", "")):
        errors.append(error("mj-0003", "Missing mandatory property.", "From"))
    recipients = message.get("To")
    if not isinstance(recipients, list) or not recipients:
        errors.append(error("mj-0003", "Missing mandatory property.", "To"))
    else:
        for n, recipient in enumerate(recipients):
            address = str((recipient or {}).get("Email", ""))
            if "@" not in address:
                errors.append(error("mj-0013", f'"{address}" is an invalid email address.', f"To[{n}].Email"))
    if not (message.get("TextPart") or message.get("HTMLPart") or message.get("TemplateID")):
        errors.append(
            error("send-0003", "At least HTMLPart, TextPart or TemplateID must be provided.", "TextPart")
        )
    return errors


def _mailjet_event(
    message: dict[str, Any], recipient: str, message_id: int, message_uuid: str
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "time": int(time.time()),
        "MessageID": message_id,
        "Message_GUID": message_uuid,
        "email": recipient,
        "mj_campaign_id": 0,
        "mj_contact_id": 0,
        "customcampaign": "",
        "CustomID": message.get("CustomID", ""),
        "Payload": message.get("EventPayload", ""),
    }
    if bounces(recipient):
        return {
            "event": "bounce",
            **event,
            "blocked": False,
            "hard_bounce": True,
            "error_related_to": "recipient",
            "error": "user unknown",
            "comment": "The sandbox bounces every address at " + BOUNCE_DOMAIN,
        }
    return {"event": "sent", **event, "mj_message_id": str(message_id), "smtp_reply": "250 2.0.0 OK sandbox"}
