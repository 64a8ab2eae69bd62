"""Twilio's Programmable Messaging API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json.

Answers as Twilio does (basic auth with the account SID and auth token,
Twilio's error codes), then posts the status callbacks Twilio would post,
signed with X-Twilio-Signature by the SDK's own helper.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulations.courier import Courier, Webhook
from emulations.http import json_response, same
from emulations.messages import AcceptedMessages, SandboxMessage
from emulations.outcomes import TWILIO_FAILING_NUMBER, TWILIO_INVALID_NUMBER

# The defaults match crm.settings' sandbox defaults, so a sandbox-mode service needs no credentials.
DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000sandbox"
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"


class TwilioEmulation:
    """Accepts SMS like Twilio; ``courier`` is None when no callback is to be posted."""

    def __init__(
        self, account_sid: str, auth_token: str, accepted: AcceptedMessages, courier: Courier | None
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._accepted = accepted
        self._courier = courier

    def rules(self) -> list[Rule]:
        return [
            Rule("/2010-04-01/Accounts/<account_sid>/Messages.json", methods=["POST"], endpoint=self.send)
        ]

    def send(self, request: Request, account_sid: str) -> Response:
        auth = request.authorization
        if (
            auth is None
            or not same(auth.username, self.account_sid)
            or not same(auth.password, self.auth_token)
            or account_sid != self.account_sid
        ):
            response = _twilio_error(401, 20003, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        to, sender, body = (request.form.get(name, "") for name in ("To", "From", "Body"))
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        if to == TWILIO_INVALID_NUMBER:
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")

        sid = "SM" + uuid.uuid4().hex
        self._accepted.add(SandboxMessage("twilio", sid, to, sender, body))
        callback_url = request.form.get("StatusCallback")
        if callback_url and self._courier is not None:
            outcomes = (
                [("failed", "30008")]
                if to == TWILIO_FAILING_NUMBER
                else [("sent", None), ("delivered", None)]
            )
            for status, error_code in outcomes:
                params = {
                    "AccountSid": account_sid,
                    "ApiVersion": "2010-04-01",
                    "From": sender,
                    "MessageSid": sid,
                    "MessageStatus": status,
                    "SmsSid": sid,
                    "SmsStatus": status,
                    "To": to,
                }
                if error_code:
                    params["ErrorCode"] = error_code
                self._courier.post(sid, self._signed_callback(callback_url, params))
        now = format_datetime(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        return json_response(
            201,
            {
                "account_sid": account_sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(_sms_segments(body)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"{uri}/Media.json"},
                "to": to,
                "uri": f"{uri}.json",
            },
        )

    def _signed_callback(self, url: str, params: dict[str, str]) -> Callable[[], Webhook]:
        def build() -> Webhook:
            # The SDK's own helper signs, exactly as RequestValidator.validate will check.
            signature = RequestValidator(self.auth_token).compute_signature(url, params)
            body = urlencode(params).encode("ascii")
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            return Webhook(url, body, headers)

        return build


def _twilio_error(status: int, code: int, message: str) -> Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return json_response(status, {"code": code, "message": message, "more_info": more_info, "status": status})


def _sms_segments(body: str) -> int:
    """Close enough for a sandbox: ASCII counts as GSM-7, anything else as UCS-2."""
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // part)
