"""SMS through Twilio's official SDK, at a configurable API address."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from .base import Accepted, OutgoingSms, ProviderError, never_reached

PROVIDER = "twilio"
TWILIO_API = "https://api.twilio.com"


class PooledHttpClient(TwilioHttpClient):
    """Twilio's HTTP client keeping up to ``connections`` connections open, for https and http.

    The SDK keeps cpu_count + 4 (6 on two cores): a service sending with more
    workers than that opened, and closed again, a connection (a TLS handshake
    with Twilio) for every SMS past the sixth in flight.
    """

    def __init__(self, timeout: float | None = None, connections: int = 10, target: str = TWILIO_API):
        super().__init__(timeout=timeout)
        adapter = HTTPAdapter(pool_maxsize=connections)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests reads proxies and the CA bundle from the environment on every request,
        # scanning all of os.environ (a sixth of each send's time): read them once, here.
        self.session.proxies = get_environ_proxies(target)
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.trust_env = False


class ApiBaseHttpClient(PooledHttpClient):
    """Twilio's HTTP client, sending every request to ``api_base`` instead of *.twilio.com.

    The SDK builds absolute https://api.twilio.com URLs in each domain object;
    its ``http_client`` argument is the one seam it offers, so the address is
    rewritten here, keeping the path (after any path ``api_base`` has).
    """

    def __init__(self, api_base: str, timeout: float | None = None, connections: int = 10):
        super().__init__(timeout, connections, target=api_base)
        self.api_base = urlsplit(api_base.rstrip("/"))

    def request(self, method: str, url: str, *args, **kwargs) -> Response:
        parts = urlsplit(url)
        rewritten = urlunsplit(
            (self.api_base.scheme, self.api_base.netloc, self.api_base.path + parts.path, parts.query, "")
        )
        return super().request(method, rewritten, *args, **kwargs)


class TwilioSms:
    """Sends one SMS per call through ``Client.messages.create``."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base: str | None = None,
        timeout: float = 10.0,
        connections: int = 10,
    ):
        http_client = (
            ApiBaseHttpClient(api_base, timeout, connections)
            if api_base
            else PooledHttpClient(timeout, connections)
        )
        # No network traffic here: the SDK connects on the first request.
        self._client = Client(account_sid, auth_token, http_client=http_client)

    def send(self, sms: OutgoingSms) -> Accepted:
        try:
            message = self._client.messages.create(
                to=sms.to, from_=sms.sender, body=sms.body, status_callback=sms.status_callback_url
            )
        except TwilioRestException as error:
            raise _refusal(error.status, error.code, error.msg) from error
        except TwilioServiceException as error:
            raise _refusal(error.status, error.code, error.detail or error.title) from error
        except requests.RequestException as error:
            raise ProviderError(
                PROVIDER,
                f"Twilio did not answer: {error}",
                retryable=True,
                outcome_unknown=not never_reached(error),
            ) from error
        return Accepted(PROVIDER, message.sid, "queued")


def _refusal(status: int, code: int | None, message: str) -> ProviderError:
    # 4xx are about this message or these credentials and will not change on retry; 429 and 5xx may.
    retryable = status == 429 or status >= 500
    return ProviderError(
        PROVIDER, f"HTTP {status}: {message}", retryable=retryable, code=None if code is None else str(code)
    )
