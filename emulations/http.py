"""What every emulation answers with: JSON bodies, secrets compared in constant time, the sandbox mark."""

from __future__ import annotations

import hmac
import json
from typing import Any

from werkzeug.wrappers import Response

SANDBOX_HEADER = "X-CRM-Sandbox"


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def json_response(status: int, document: Any) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")
