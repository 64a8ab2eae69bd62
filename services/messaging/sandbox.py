"""The provider sandbox: local emulations of the Twilio, SendGrid and Mailjet HTTP APIs.

Nothing sent here leaves the machine. The official SDKs talk to it as they
would to the providers (same paths, authentication, answers and errors), and
it posts the delivery webhooks the providers would post, signed the same way:
Twilio's X-Twilio-Signature, SendGrid's ECDSA event signature, Mailjet's basic
auth. Every answer and every webhook carries ``X-CRM-Sandbox: true``.

Magic addresses choose the outcome, like Twilio's test credentials:

- SMS to ``+15005550001``: refused at once (400, Twilio error 21211);
- SMS to ``+15005550009``: accepted, then a "failed" callback (error 30008);
- any other SMS: accepted, then "sent" and "delivered" callbacks;
- e-mail to an address at ``BOUNCE_DOMAIN``: accepted, then a hard bounce event;
- any other e-mail: accepted, then delivered.

Webhooks go out from a few background threads, after the request answered,
so that the request path stays cheap; those of one message keep their order.
"""

from __future__ import annotations

import base64
import hmac
import json
import queue
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import eventlet
import eventlet.wsgi
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

TWILIO_INVALID_NUMBER = "+15005550001"
TWILIO_FAILING_NUMBER = "+15005550009"
BOUNCE_DOMAIN = "bounce.sandbox.example.com"  # .test addresses fail e-mail validation
SANDBOX_HEADER = "X-CRM-Sandbox"

# The defaults match crm.settings' sandbox defaults, so a sandbox-mode service needs no credentials.
DEFAULT_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000sandbox"
DEFAULT_TWILIO_AUTH_TOKEN = "sandbox-auth-token"
DEFAULT_SENDGRID_API_KEY = "SG.sandbox"
DEFAULT_MAILJET_API_KEY = "sandbox-key"
DEFAULT_MAILJET_API_SECRET = "sandbox-secret"


@dataclass(frozen=True)
class SandboxMessage:
    """One message a provider emulation accepted (one per e-mail recipient)."""

    provider: str
    provider_message_id: str
    to: str
    sender: str
    body: str | None  # the SMS text, or the e-mail's text part
    subject: str | None = None
    html: str | None = None
    crm_message_id: str | None = None
    reply_to: str | None = None
    attachments: tuple[str, ...] = ()  # file names
    accepted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Delivery:
    """One webhook the sandbox posted, and how the receiver answered."""

    url: str
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True)
class _Webhook:
    url: str
    body: bytes
    headers: dict[str, str]
    auth: tuple[str, str] | None = None


def sign_sendgrid_events(private_key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str) -> str:
    """The X-Twilio-Email-Event-Webhook-Signature SendGrid would send: ECDSA P-256/SHA-256, base64 DER."""
    signature = private_key.sign(timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


def public_key_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


class ProviderSandbox:
    """A WSGI application answering like Twilio, SendGrid and Mailjet; ``serve()`` puts it on a port."""

    def __init__(
        self,
        *,
        twilio_account_sid: str = DEFAULT_TWILIO_ACCOUNT_SID,
        twilio_auth_token: str = DEFAULT_TWILIO_AUTH_TOKEN,
        sendgrid_api_key: str = DEFAULT_SENDGRID_API_KEY,
        mailjet_api_key: str = DEFAULT_MAILJET_API_KEY,
        mailjet_api_secret: str = DEFAULT_MAILJET_API_SECRET,
        deliver_callbacks: bool = True,
        sendgrid_event_url: str | None = None,
        sendgrid_signing_key: ec.EllipticCurvePrivateKey | None = None,
        mailjet_event_url: str | None = None,
        mailjet_event_auth: tuple[str, str] | None = None,
        callback_workers: int = 4,
        callback_timeout_seconds: float = 5.0,
    ):
        self.twilio_account_sid = twilio_account_sid
        self.twilio_auth_token = twilio_auth_token
        self.sendgrid_api_key = sendgrid_api_key
        self.mailjet_api_key = mailjet_api_key
        self.mailjet_api_secret = mailjet_api_secret
        self.deliver_callbacks = deliver_callbacks
        self.sendgrid_event_url = sendgrid_event_url
        # A key of its own unless given one: pass a fixed key to keep the public key across restarts.
        self.sendgrid_signing_key = sendgrid_signing_key or ec.generate_private_key(ec.SECP256R1())
        self.sendgrid_public_key = public_key_b64(self.sendgrid_signing_key)
        self.mailjet_event_url = mailjet_event_url
        self.mailjet_event_auth = mailjet_event_auth
        self._courier = _Courier(callback_workers, callback_timeout_seconds)
        self._messages: list[SandboxMessage] = []
        self._messages_lock = threading.Lock()
        self._listener: Any = None
        self._server_thread: Any = None
        self._routes = Map(
            [
                Rule("/2010-04-01/Accounts/<account_sid>/Messages.json", methods=["POST"], endpoint="twilio"),
                Rule("/v3/mail/send", methods=["POST"], endpoint="sendgrid"),
                Rule("/v3.1/send", methods=["POST"], endpoint="mailjet"),
                Rule("/_sandbox/messages", methods=["GET"], endpoint="list_messages"),
            ]
        )

    # -- serving --------------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Answer on ``host:port`` (0: any free port) from a green thread; returns the base URL.

        eventlet's WSGI server keeps connections alive, as the providers' APIs
        do (werkzeug's development server closed each one after one request).
        """
        if self._listener is not None:
            raise RuntimeError("the sandbox is already serving")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = eventlet.listen((host, port), family=family)
        self._server_thread = eventlet.spawn(
            eventlet.wsgi.server, self._listener, self, log_output=False, socket_timeout=60
        )
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._listener is None:
            raise RuntimeError("the sandbox is not serving")
        host, port = self._listener.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop answering and drop the webhooks not yet posted."""
        if self._listener is not None:
            self._server_thread.kill()
            self._listener.close()
            self._listener = self._server_thread = None
        self._courier.stop()

    # -- what tests look at ---------------------------------------------------------------------------

    def messages(self) -> list[SandboxMessage]:
        """Every message accepted so far, oldest first."""
        with self._messages_lock:
            return list(self._messages)

    def deliveries(self) -> list[Delivery]:
        """Every webhook posted so far, in the order they were answered."""
        return self._courier.deliveries()

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every webhook queued so far was posted; False if ``timeout`` ran out first."""
        return self._courier.wait_idle(timeout)

    # -- WSGI -----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = _SandboxRequest(environ)
        try:
            endpoint, arguments = self._routes.bind_to_environ(environ).match()
            response = getattr(self, f"_{endpoint}")(request, **arguments)
        except HTTPException as error:
            response = _json(error.code or 500, {"message": error.description, "status": error.code})
        response.headers[SANDBOX_HEADER] = "true"
        return response(environ, start_response)

    def _list_messages(self, request: Request) -> Response:
        rows = [
            {**asdict(message), "accepted_at": message.accepted_at.isoformat()} for message in self.messages()
        ]
        return _json(200, rows)

    def _accept(self, message: SandboxMessage) -> None:
        with self._messages_lock:
            self._messages.append(message)

    # -- Twilio: POST /2010-04-01/Accounts/{AccountSid}/Messages.json -----------------------------------

    def _twilio(self, request: Request, account_sid: str) -> Response:
        auth = request.authorization
        if (
            auth is None
            or not _same(auth.username, self.twilio_account_sid)
            or not _same(auth.password, self.twilio_auth_token)
            or account_sid != self.twilio_account_sid
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
        self._accept(SandboxMessage("twilio", sid, to, sender, body))
        callback_url = request.form.get("StatusCallback")
        if callback_url and self.deliver_callbacks:
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
                self._courier.post(sid, self._signed_twilio_callback(callback_url, params))
        now = format_datetime(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        return _json(
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

    def _signed_twilio_callback(self, url: str, params: dict[str, str]) -> Callable[[], _Webhook]:
        def build() -> _Webhook:
            # The SDK's own helper signs, exactly as RequestValidator.validate will check.
            signature = RequestValidator(self.twilio_auth_token).compute_signature(url, params)
            body = urlencode(params).encode("ascii")
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            return _Webhook(url, body, headers)

        return build

    # -- SendGrid: POST /v3/mail/send -------------------------------------------------------------------

    def _sendgrid(self, request: Request) -> Response:
        if not _same(request.headers.get("Authorization", ""), f"Bearer {self.sendgrid_api_key}"):
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
                self._accept(
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
        if self.sendgrid_event_url and self.deliver_callbacks:
            self._courier.post(x_message_id, self._signed_sendgrid_events(self.sendgrid_event_url, events))
        response = Response(status=202)
        response.headers["X-Message-Id"] = x_message_id
        return response

    def _signed_sendgrid_events(self, url: str, events: list[dict[str, Any]]) -> Callable[[], _Webhook]:
        def build() -> _Webhook:
            body = json.dumps(events).encode("utf-8")
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_events(
                    self.sendgrid_signing_key, body, timestamp
                ),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            }
            return _Webhook(url, body, headers)

        return build

    # -- Mailjet: POST /v3.1/send -----------------------------------------------------------------------

    def _mailjet(self, request: Request) -> Response:
        auth = request.authorization
        if (
            auth is None
            or not _same(auth.username, self.mailjet_api_key)
            or not _same(auth.password, self.mailjet_api_secret)
        ):
            message = (
                "API key authentication/authorization failure. You may be unauthorized to access the API "
                "or your API key may be expired. Visit API keys management section to check your keys."
            )
            return _json(
                401, {"ErrorIdentifier": str(uuid.uuid4()), "StatusCode": 401, "ErrorMessage": message}
            )
        document = request.get_json(silent=True)
        messages = document.get("Messages") if isinstance(document, dict) else None
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            message = "Malformed JSON, please review the syntax and properties types."
            return _json(
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
            return _json(400, {"Messages": [{"Status": "error", "Errors": errors} for errors in problems]})

        answers, events = [], []
        for message in messages:
            recipients = []
            for recipient in message["To"]:
                message_id = secrets.randbelow(9 * 10**16) + 10**16  # Mailjet's ids are 17-digit numbers
                message_uuid = str(uuid.uuid4())
                self._accept(
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
        if self.mailjet_event_url and self.deliver_callbacks:
            body = json.dumps(events).encode("utf-8")  # grouped, as with Mailjet's "group events" option
            webhook = _Webhook(
                self.mailjet_event_url, body, {"Content-Type": "application/json"}, self.mailjet_event_auth
            )
            self._courier.post(str(events[0]["MessageID"]), lambda: webhook)
        return _json(200, {"Messages": answers})


class _SandboxRequest(Request):
    max_content_length = 40 * 1024 * 1024  # SendGrid's limit is 30 MB of message, attachments in base64


class _Courier:
    """Posts webhooks from background threads; those sharing a key go through one thread, in order."""

    def __init__(self, workers: int, timeout_seconds: float):
        self._workers = max(1, workers)
        self._timeout = timeout_seconds
        self._queues: list[queue.Queue[Callable[[], _Webhook] | None]] = []
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition()
        self._deliveries: list[Delivery] = []

    def post(self, key: str, build: Callable[[], _Webhook]) -> None:
        with self._idle:
            self._pending += 1
        self._start()
        self._queues[hash(key) % self._workers].put(build)

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def deliveries(self) -> list[Delivery]:
        with self._idle:
            return list(self._deliveries)

    def stop(self) -> None:
        with self._start_lock:
            for jobs in self._queues:
                jobs.put(None)
            for thread in self._threads:
                thread.join(timeout=self._timeout + 1)
            self._queues, self._threads = [], []
        with self._idle:
            self._pending = 0
            self._idle.notify_all()

    def _start(self) -> None:
        # Threads start with the first webhook, not in a constructor.
        with self._start_lock:
            if self._threads:
                return
            self._queues = [queue.Queue() for _ in range(self._workers)]
            self._threads = [
                threading.Thread(target=self._run, args=(jobs,), name=f"sandbox-courier-{n}", daemon=True)
                for n, jobs in enumerate(self._queues)
            ]
            for thread in self._threads:
                thread.start()

    def _run(self, jobs: queue.Queue[Callable[[], _Webhook] | None]) -> None:
        with requests.Session() as session:
            # Webhooks go to this machine's gateway: no proxies or CA bundle from the environment
            # (and no scan of os.environ on every post).
            session.trust_env = False
            while (build := jobs.get()) is not None:
                try:
                    delivery = self._deliver(session, build())
                except Exception as error:  # a webhook that cannot even be built must not stop the courier
                    delivery = Delivery("", None, f"{type(error).__name__}: {error}")
                with self._idle:
                    self._deliveries.append(delivery)
                    self._pending -= 1
                    if self._pending <= 0:
                        self._idle.notify_all()

    def _deliver(self, session: requests.Session, webhook: _Webhook) -> Delivery:
        headers = {**webhook.headers, SANDBOX_HEADER: "true"}
        try:
            response = session.post(
                webhook.url, data=webhook.body, headers=headers, auth=webhook.auth, timeout=self._timeout
            )
        except requests.RequestException as error:
            return Delivery(webhook.url, None, str(error))
        return Delivery(webhook.url, response.status_code)


# -- small pure helpers ----------------------------------------------------------------------------------


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _json(status: int, document: Any) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


def _twilio_error(status: int, code: int, message: str) -> Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return _json(status, {"code": code, "message": message, "more_info": more_info, "status": status})


def _sms_segments(body: str) -> int:
    """Close enough for a sandbox: ASCII counts as GSM-7, anything else as UCS-2."""
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // part)


def _sendgrid_errors(status: int, errors: list[tuple[str | None, str]]) -> Response:
    return _json(
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


def _bounces(address: str) -> bool:
    return address.lower().endswith("@" + BOUNCE_DOMAIN)


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
    if _bounces(recipient):
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
    if _bounces(recipient):
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
