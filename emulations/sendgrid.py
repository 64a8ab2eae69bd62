"""SendGrid's Mail Send API: POST /v3/mail/send.

Answers as SendGrid does (bearer API key, SendGrid's error wording), then posts
the Event Webhook SendGrid would post, signed with ECDSA P-256 over the
timestamp and body.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.courier import Courier, Webhook
from emulations.http import json_response, same
from emulations.messages import AcceptedMessages, SandboxMessage
from emulations.outcomes import bounces
from providers.sandbox_key import public_key_b64

# The default matches crm.settings' sandbox default, so a sandbox-mode service needs no credentials.
DEFAULT_API_KEY = "SG.sandbox"


def sign_sendgrid_events(private_key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str) -> str:
    """The X-Twilio-Email-Event-Webhook-Signature SendGrid would send: ECDSA P-256/SHA-256, base64 DER."""
    signature = private_key.sign(timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


class SendGridEmulation:
    """Accepts e-mail like SendGrid; ``courier`` is None when no event is to be posted."""

    def __init__(
        self,
        api_key: str,
        accepted: AcceptedMessages,
        courier: Courier | None,
        *,
        event_url: str | None = None,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
    ):
        self.api_key = api_key
        self.event_url = event_url
        # A key of its own unless given one: pass a fixed key to keep the public key across restarts.
        self.signing_key = signing_key or ec.generate_private_key(ec.SECP256R1())
        self.public_key = public_key_b64(self.signing_key)
        self._accepted = accepted
        self._courier = courier

    def rules(self) -> list[Rule]:
        return [Rule("/v3/mail/send", methods=["POST"], endpoint=self.send)]

    def send(self, request: Request) -> Response:
        if not same(request.headers.get("Authorization", ""), f"Bearer {self.api_key}"):
            return _sendgrid_errors(
                401, [(None, "The provided authorization grant is invalid, expired, or revoked")]
            )
        mail = request.get_json(silent=True)
        if not isinstance(mail, dict):
            return _sendgrid_errors(400, [(None, "Bad Request")])
        errors = _sendgrid_mail_errors(mail)
        if errors:
            return _sendgrid_errors(400, errors)

        x_message_id = secrets.token_urlsafe(16)
        events: list[dict[str, Any]] = []
        for personalization in mail["personalizations"]:
            custom_args = {**(mail.get("custom_args") or {}), **(personalization.get("custom_args") or {})}
            for recipient in personalization["to"]:
                self._accepted.add(
                    SandboxMessage(
                        "sendgrid",
                        x_message_id,
                        recipient["email"],
                        mail["from"]["email"],
                        _content(mail, "text/plain"),
                        subject=personalization.get("subject") or mail.get("subject"),
                        html=_content(mail, "text/html"),
                        crm_message_id=custom_args.get("crm_message_id"),
                        reply_to=(mail.get("reply_to") or {}).get("email"),
                        attachments=tuple(item.get("filename", "") for item in mail.get("attachments") or ()),
                    )
                )
                events += _sendgrid_events(x_message_id, len(events), recipient["email"], custom_args)
        if self.event_url and self._courier is not None:
            self._courier.post(x_message_id, self._signed_events(self.event_url, events))
        response = Response(status=202)
        response.headers["X-Message-Id"] = x_message_id
        return response

    def _signed_events(self, url: str, events: list[dict[str, Any]]) -> Callable[[], Webhook]:
        def build() -> Webhook:
            body = json.dumps(events).encode("utf-8")
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_events(
                    self.signing_key, body, timestamp
                ),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            }
            return Webhook(url, body, headers)

        return build


def _sendgrid_errors(status: int, errors: list[tuple[str | None, str]]) -> Response:
    return json_response(
        status, {"errors": [{"message": message, "field": name, "help": None} for name, message in errors]}
    )


def _sendgrid_mail_errors(mail: dict[str, Any]) -> list[tuple[str | None, str]]:
    """The checks SendGrid makes that a wrong SDK call would trip, with SendGrid's wording."""
    errors: list[tuple[str | None, str]] = []
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            (
                "personalizations",
                "The personalizations field is required and must have at least one personalization.",
            )
        )
        personalizations = []
    for n, personalization in enumerate(personalizations):
        recipients = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(recipients, list) or not recipients:
            errors.append(
                (f"personalizations.{n}.to", "The to array is required for all personalization objects.")
            )
            continue
        for m, recipient in enumerate(recipients):
            if "@" not in str((recipient or {}).get("email", "")):
                errors.append((f"personalizations.{n}.to.{m}.email", "Does not contain a valid address."))
    if "@" not in str((mail.get("from") or {}).get("email", "")):
        errors.append(("from.email", "The from object must be provided for every email send."))
    if not mail.get("template_id"):
        subjects_everywhere = all(isinstance(p, dict) and p.get("subject") for p in personalizations)
        if not mail.get("subject") and not (personalizations and subjects_everywhere):
            errors.append(("subject", "The subject is required."))
        content = mail.get("content")
        if not isinstance(content, list) or not content:
            errors.append(
                ("content", "Unless a valid template_id is provided, the content parameter is required.")
            )
        else:
            for n, block in enumerate(content):
                if not isinstance(block, dict) or not block.get("value"):
                    errors.append(
                        (
                            f"content.{n}.value",
                            "The content value must be a string at least one character in length.",
                        )
                    )
    return errors


def _content(mail: dict[str, Any], content_type: str) -> str | None:
    return next(
        (block["value"] for block in mail.get("content") or () if block.get("type") == content_type), None
    )


def _sendgrid_events(
    x_message_id: str, position: int, recipient: str, custom_args: dict[str, Any]
) -> list[dict[str, Any]]:
    now = int(time.time())
    common = {
        "email": recipient,
        "timestamp": now,
        "smtp-id": f"<{x_message_id}@sandbox.test>",
        "sg_message_id": f"{x_message_id}.filter0001.sandbox-{position}.0",
        **custom_args,  # SendGrid puts custom arguments at the top level of each event
    }
    outcome: dict[str, Any]
    if bounces(recipient):
        outcome = {
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "bounce_classification": "Invalid Address",
        }
    else:
        outcome = {"event": "delivered", "response": "250 2.0.0 OK sandbox"}
    return [
        {**common, "event": "processed", "sg_event_id": secrets.token_urlsafe(16)},
        {**common, **outcome, "sg_event_id": secrets.token_urlsafe(16)},
    ]
