"""Logs an operator can read: one line per expected error, request id and caller on each line."""

from __future__ import annotations

import io
import json
import logging
import sys
from types import SimpleNamespace

import jwt
import pytest
from nameko.exceptions import RemoteError
from werkzeug.exceptions import RequestEntityTooLarge

from crm import logs
from crm.errors import NotFound, ServiceUnavailable, Unauthenticated
from crm.outbox import new_event

REQUEST_ID = "req-Pomme-0042"
TOKEN = jwt.encode(
    {"sub": "user-alice", "org": "org-pomme"},
    "a key these tests never check, long enough for HS256",
    algorithm="HS256",
)


@pytest.fixture
def output():
    """This process's logs, as ``crm serve accounts`` writes them, into a buffer."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield lambda log_format: (logs.configure_logging("INFO", log_format, "accounts", stream), stream)[1]
    root.handlers[:], root.level = saved
    logging.getLogger("nameko.containers").removeFilter(logs._expected_error_filter)


@pytest.fixture
def in_a_request():
    token = logs.bind(logs.RequestContext(REQUEST_ID, {"access_token": TOKEN}))
    yield
    logs.unbind(token)


def _nameko_expected_error(exc: Exception) -> None:
    """What nameko's container logs when a worker raises one of its expected exceptions."""
    worker_ctx = SimpleNamespace(service_name="accounts", entrypoint=SimpleNamespace(method_name="login"))
    try:
        raise exc
    except Exception:
        logging.getLogger("nameko.containers").warning(
            "(expected) error handling worker %s: %s", worker_ctx, exc, exc_info=True
        )


@pytest.mark.parametrize("header", ["3f2a9c1e-7d1b-4e9a-9a53-2b1f0c9d8e77", "Root=1-67891233-abcdef", "a"])
def test_a_plain_request_id_from_the_caller_is_kept(header):
    assert logs.request_id_from(header) == header


@pytest.mark.parametrize("header", [None, "", "x" * 129, "abc def", "abc\nINFO forged line", "é"])
def test_a_missing_long_or_odd_request_id_is_replaced_by_a_new_one(header):
    made = logs.request_id_from(header)
    assert made != header and logs.request_id_from(made) == made


def test_a_json_line_carries_time_level_service_request_org_and_user(output, in_a_request):
    stream = output("json")
    logging.getLogger("services.accounts").warning("Chambre 404 is double booked")
    line = json.loads(stream.getvalue())
    assert line["message"] == "Chambre 404 is double booked"
    assert line["level"] == "WARNING" and line["service"] == "accounts"
    assert line["logger"] == "services.accounts" and line["timestamp"].startswith("20")
    assert (line["request_id"], line["org_id"], line["user_id"]) == (REQUEST_ID, "org-pomme", "user-alice")


def test_outside_a_request_a_json_line_names_no_request(output):
    stream = output("json")
    logging.getLogger("crm.outbox").warning("outbox relay could not publish")
    line = json.loads(stream.getvalue())
    assert "request_id" not in line and "org_id" not in line and line["service"] == "accounts"


def test_a_text_line_names_the_request_and_caller(output, in_a_request):
    stream = output("text")
    logging.getLogger("services.accounts").info("login refused")
    assert (
        f"INFO accounts services.accounts [request={REQUEST_ID} org=org-pomme user=user-alice]: login refused"
        in (stream.getvalue())
    )


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_an_expected_client_error_is_one_line_without_traceback(output, in_a_request, log_format):
    stream = output(log_format)
    _nameko_expected_error(NotFound("no contact Chambre 404"))
    text = stream.getvalue()
    assert text.count("\n") == 1 and "Traceback" not in text
    assert "accounts.login answered NotFound: no contact Chambre 404" in text


def test_a_refused_token_line_names_no_caller(output, in_a_request):
    stream = output("json")
    _nameko_expected_error(Unauthenticated("access token signature is invalid"))
    line = json.loads(stream.getvalue())
    assert line["request_id"] == REQUEST_ID and "org_id" not in line and "user_id" not in line


def test_a_too_large_body_raised_in_a_gateway_worker_is_a_client_error_too(output):
    stream = output("text")
    _nameko_expected_error(RequestEntityTooLarge("request body is over 1024 bytes"))
    assert "Traceback" not in stream.getvalue()


def test_an_outage_keeps_its_traceback(output):
    stream = output("json")
    _nameko_expected_error(ServiceUnavailable("the contacts service did not answer within 10 s"))
    assert "Traceback" in json.loads(stream.getvalue())["traceback"]


def test_a_remote_defect_is_one_error_line_in_the_caller(output):
    """Its traceback is in the log of the service that raised it."""
    stream = output("text")
    _nameko_expected_error(RemoteError("ZeroDivisionError", "division by zero"))
    text = stream.getvalue()
    assert text.count("\n") == 1 and " ERROR " in text and "Traceback" not in text


def test_an_unexpected_error_keeps_its_traceback(output):
    stream = output("text")
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        logging.getLogger("nameko.containers").exception("error handling worker %s: %s", "w", exc)
    assert "Traceback" in stream.getvalue()


def test_the_access_line_has_method_route_status_duration_and_request(output):
    stream = output("json")
    logs.log_access("GET", "/api/v1/contacts/<string:contact_id>", 404, 0.0123, REQUEST_ID)
    line = json.loads(stream.getvalue())
    assert line["message"] == "GET /api/v1/contacts/<string:contact_id> 404 12.3 ms"
    assert (line["method"], line["route"], line["status"]) == (
        "GET",
        "/api/v1/contacts/<string:contact_id>",
        404,
    )
    assert line["duration_ms"] == 12.3 and line["request_id"] == REQUEST_ID and line["logger"] == "crm.access"


def test_auto_format_is_text_on_a_terminal_and_json_elsewhere():
    terminal = SimpleNamespace(isatty=lambda: True)
    assert not logs.wants_json("auto", terminal)
    assert logs.wants_json("auto", io.StringIO())
    assert logs.wants_json("json", terminal) and not logs.wants_json("text", sys.stderr)


def test_an_event_made_in_a_request_carries_its_request_id(in_a_request):
    event = new_event("contact_created", org_id="org-pomme", actor_id="user-alice", record={"id": "c-1"})
    assert event["request_id"] == REQUEST_ID


def test_an_event_made_outside_a_request_has_no_request_id():
    event = new_event("import_progressed", org_id="org-pomme", actor_id=None, record={"id": "job-1"})
    assert event["request_id"] is None


def test_an_event_handler_worker_takes_the_request_id_of_the_event():
    from nameko.events import EventHandler

    handler = EventHandler.__new__(EventHandler)
    worker = SimpleNamespace(data={}, entrypoint=handler, args=({"request_id": REQUEST_ID},))
    assert logs.worker_request_id(worker) == REQUEST_ID
    rpc_worker = SimpleNamespace(data={"request_id": "from-rpc"}, entrypoint=object(), args=())
    assert logs.worker_request_id(rpc_worker) == "from-rpc"
