"""Errors of the Google Contacts sync (they cross RPC as themselves; the gateway maps them)."""

from crm.errors import InvalidInput, NotFound, ServiceUnavailable


class GoogleNotConnected(NotFound):
    """The caller has not connected a Google account (or disconnected it)."""

    title = "Google Contacts is not connected"


class GoogleRunNotFound(NotFound):
    title = "Google sync run not found"


class GoogleAuthorizationFailed(InvalidInput):
    """The callback's state is unknown or expired, or Google refused the authorization code:
    start the connection again."""

    title = "Google authorization failed"


class GoogleUnreachable(ServiceUnavailable):
    """Google's token endpoint did not answer: try the connection again shortly."""

    title = "Google did not answer"
