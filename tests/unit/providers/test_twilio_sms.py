"""The Twilio sender drives the real twilio SDK against the sandbox over HTTP."""

from __future__ import annotations

import threading

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from emulations.outcomes import TWILIO_INVALID_NUMBER
from emulations.server import ProviderSandbox
from providers.base import OutgoingSms, ProviderError
from providers.twilio_sms import ApiBaseHttpClient, PooledHttpClient, TwilioSms
from tests.sandbox_fixtures import closed_port_url, silent_api_url

SENDER = "+15005550006"
RECEPTION = "+33612345678"


@pytest.fixture
def twilio(sandbox) -> TwilioSms:
    return TwilioSms(sandbox.twilio_account_sid, sandbox.twilio_auth_token, api_base=sandbox.base_url)


def test_accepted_sms_comes_back_with_its_twilio_sid(sandbox, twilio):
    accepted = twilio.send(OutgoingSms(RECEPTION, SENDER, "Chambre 404 prête à 14 h"))

    assert accepted.provider == "twilio"
    assert accepted.status == "queued"
    assert accepted.provider_message_id.startswith("SM") and len(accepted.provider_message_id) == 34
    stored = [m for m in sandbox.messages() if m.provider_message_id == accepted.provider_message_id]
    assert [(m.to, m.sender, m.body) for m in stored] == [(RECEPTION, SENDER, "Chambre 404 prête à 14 h")]


def test_invalid_number_is_refused_for_good_with_twilio_code_21211(twilio):
    with pytest.raises(ProviderError) as refused:
        twilio.send(OutgoingSms(TWILIO_INVALID_NUMBER, SENDER, "Bonjour"))

    assert refused.value.retryable is False
    assert refused.value.code == "21211"
    assert "not a valid phone number" in refused.value.reason


def test_wrong_auth_token_is_refused_for_good(sandbox):
    twilio = TwilioSms(sandbox.twilio_account_sid, "not-the-token", api_base=sandbox.base_url)

    with pytest.raises(ProviderError) as refused:
        twilio.send(OutgoingSms(RECEPTION, SENDER, "Bonjour"))

    assert refused.value.retryable is False
    assert refused.value.code == "20003"


def test_unreachable_api_is_worth_retrying():
    twilio = TwilioSms("AC00000000000000000000000000sandbox", "token", api_base=closed_port_url())

    with pytest.raises(ProviderError) as failed:
        twilio.send(OutgoingSms(RECEPTION, SENDER, "Bonjour"))

    assert failed.value.retryable is True
    assert failed.value.outcome_unknown is False  # the request never left: nothing can have been sent


def test_an_api_that_takes_the_request_and_never_answers_leaves_the_outcome_unknown():
    with silent_api_url() as url, pytest.raises(ProviderError) as failed:
        TwilioSms("AC00000000000000000000000000sandbox", "token", api_base=url, timeout=0.5).send(
            OutgoingSms(RECEPTION, SENDER, "Bonjour")
        )

    assert (failed.value.retryable, failed.value.outcome_unknown) == (True, True)


def test_api_base_path_prefix_is_kept_in_front_of_twilio_paths():
    sandbox = ProviderSandbox()
    mounted = DispatcherMiddleware(Response("nothing here", status=404), {"/emulation": sandbox})
    server = make_server("127.0.0.1", 0, mounted, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        api_base = f"http://127.0.0.1:{server.server_port}/emulation/"
        twilio = TwilioSms(sandbox.twilio_account_sid, sandbox.twilio_auth_token, api_base=api_base)

        accepted = twilio.send(OutgoingSms(RECEPTION, SENDER, "Pomme Siège Central vous attend"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    assert [m.provider_message_id for m in sandbox.messages()] == [accepted.provider_message_id]


def test_a_proxy_and_ca_bundle_from_the_environment_are_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.pomme.fr:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/pomme/ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    session = PooledHttpClient().session

    assert session.proxies.get("https") == "http://proxy.pomme.fr:3128"
    assert session.verify == "/etc/pomme/ca.pem"


def test_no_proxy_for_an_api_base_that_no_proxy_names(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.pomme.fr:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    session = ApiBaseHttpClient("http://127.0.0.1:9").session

    assert "http" not in session.proxies
