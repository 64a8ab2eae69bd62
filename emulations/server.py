"""The provider sandbox: the Twilio, SendGrid, Mailjet and Google emulations on one port.

Nothing sent here leaves the machine. The official SDKs talk to it as they
would to the providers (same paths, authentication, answers and errors), and
it posts the delivery webhooks the providers would post, signed the same way:
Twilio's X-Twilio-Signature, SendGrid's ECDSA event signature, Mailjet's basic
auth. Every answer and every webhook carries ``X-CRM-Sandbox: true``. The
magic addresses that choose a message's outcome are in ``outcomes``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import eventlet
import eventlet.wsgi
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulations import google, google_oauth, mailjet, sendgrid, twilio
from emulations.courier import Courier, Delivery
from emulations.http import SANDBOX_HEADER, json_response
from emulations.messages import AcceptedMessages, SandboxMessage


class ProviderSandbox:
    """A WSGI application answering like Twilio, SendGrid, Mailjet and Google (OAuth 2.0 and the
    People API); ``serve()`` puts it on a port."""

    def __init__(
        self,
        *,
        twilio_account_sid: str = twilio.DEFAULT_ACCOUNT_SID,
        twilio_auth_token: str = twilio.DEFAULT_AUTH_TOKEN,
        sendgrid_api_key: str = sendgrid.DEFAULT_API_KEY,
        mailjet_api_key: str = mailjet.DEFAULT_API_KEY,
        mailjet_api_secret: str = mailjet.DEFAULT_API_SECRET,
        deliver_callbacks: bool = True,
        sendgrid_event_url: str | None = None,
        sendgrid_signing_key: ec.EllipticCurvePrivateKey | None = None,
        mailjet_event_url: str | None = None,
        mailjet_event_auth: tuple[str, str] | None = None,
        callback_workers: int = 4,
        callback_timeout_seconds: float = 5.0,
        google_client_id: str = google_oauth.DEFAULT_CLIENT_ID,
        google_client_secret: str = google_oauth.DEFAULT_CLIENT_SECRET,
    ):
        self.deliver_callbacks = deliver_callbacks
        self._courier = Courier(callback_workers, callback_timeout_seconds)
        self._accepted = AcceptedMessages()
        courier = self._courier if deliver_callbacks else None
        self.twilio = twilio.TwilioEmulation(twilio_account_sid, twilio_auth_token, self._accepted, courier)
        self.sendgrid = sendgrid.SendGridEmulation(
            sendgrid_api_key,
            self._accepted,
            courier,
            event_url=sendgrid_event_url,
            signing_key=sendgrid_signing_key,
        )
        self.mailjet = mailjet.MailjetEmulation(
            mailjet_api_key,
            mailjet_api_secret,
            self._accepted,
            courier,
            event_url=mailjet_event_url,
            event_auth=mailjet_event_auth,
        )
        self.google = google.GoogleEmulation(google_client_id, google_client_secret)
        self._listener: Any = None
        self._server_thread: Any = None
        self._routes = Map(
            [
                *self.twilio.rules(),
                *self.sendgrid.rules(),
                *self.mailjet.rules(),
                *self.google.rules(),
                Rule("/_sandbox/messages", methods=["GET"], endpoint=self._list_messages),
            ]
        )

    # -- the credentials and keys each emulation checks or signs with ---------------------------------

    @property
    def twilio_account_sid(self) -> str:
        return self.twilio.account_sid

    @property
    def twilio_auth_token(self) -> str:
        return self.twilio.auth_token

    @property
    def sendgrid_api_key(self) -> str:
        return self.sendgrid.api_key

    @property
    def sendgrid_signing_key(self) -> ec.EllipticCurvePrivateKey:
        return self.sendgrid.signing_key

    @property
    def sendgrid_public_key(self) -> str:
        return self.sendgrid.public_key

    @property
    def mailjet_api_key(self) -> str:
        return self.mailjet.api_key

    @property
    def mailjet_api_secret(self) -> str:
        return self.mailjet.api_secret

    # -- serving --------------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Answer on ``host:port`` (0: any free port) from a green thread; returns the base URL.

        eventlet's WSGI server keeps connections alive, as the providers' APIs
        do (werkzeug's development server closed each one after one request).
        """
        if self._listener is not None:
            raise RuntimeError("the sandbox is already serving")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Not eventlet's SO_REUSEPORT: a second system on the same port must fail, not share it.
        self._listener = eventlet.listen((host, port), family=family, reuse_port=False)
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
        return self._accepted.all()

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
            response = endpoint(request, **arguments)
        except HTTPException as error:
            response = json_response(error.code or 500, {"message": error.description, "status": error.code})
        response.headers[SANDBOX_HEADER] = "true"
        return response(environ, start_response)

    def _list_messages(self, request: Request) -> Response:
        rows = [
            {**asdict(message), "accepted_at": message.accepted_at.isoformat()} for message in self.messages()
        ]
        return json_response(200, rows)


class _SandboxRequest(Request):
    max_content_length = 40 * 1024 * 1024  # SendGrid's limit is 30 MB of message, attachments in base64
