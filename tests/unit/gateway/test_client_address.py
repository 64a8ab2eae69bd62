"""Which address login throttling counts: the peer, or the one a trusted proxy added."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.http import client_address


def _request(forwarded: str) -> Request:
    environ = EnvironBuilder(headers={"X-Forwarded-For": forwarded}).get_environ()
    environ["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
    return Request(environ)


def test_behind_a_trusted_proxy_the_address_it_appended_counts_not_what_the_client_wrote():
    assert client_address(_request("203.0.113.9, 198.51.100.77"), trust_forwarded_for=True) == "198.51.100.77"


def test_without_trust_the_peer_counts():
    assert client_address(_request("203.0.113.9"), trust_forwarded_for=False) == "10.0.0.2"
