"""HTTP routes of mobile sync (WatermelonDB's protocol, docs/sync.md): pull, push, the caller's
sync alerts and the organisation's devices."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crm.errors import InvalidInput, field_error
from crm.validation import validate
from services.gateway.http import json_response, read_json, read_query, route
from services.sync import schemas as sync_api

V1 = "/api/v1"
DEVICE_HEADER = "X-Device-Id"
APP_VERSION_HEADER = "X-App-Version"
_DEVICE_HEADERS = {
    DEVICE_HEADER: {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "pattern": "^[!-~]+$",
        "description": "The phone's own id (printable ASCII, no space)",
    },
    APP_VERSION_HEADER: {
        "type": "string",
        "maxLength": 50,
        "pattern": "^[ -~]*$",
        "description": "The app's version, for admins",
    },
}
PUSH_MAX_BYTES = 16 * 1024 * 1024
_PROTOCOL = (
    "WatermelonDB's sync protocol: call `synchronize()` with a `pullChanges` that GETs this route "
    "and a `pushChanges` that POSTs to `/api/v1/sync/push`; see docs/sync.md for the tables and columns."
)


def _push_max_bytes(settings: Any) -> int:
    return max(settings.gateway.max_body_bytes, PUSH_MAX_BYTES)


def _device(request: Request) -> dict[str, Any]:
    device_id = request.headers.get(DEVICE_HEADER)
    if not device_id:
        raise InvalidInput(
            f"send the phone's id in the {DEVICE_HEADER} header",
            [field_error(DEVICE_HEADER, "required: 1 to 100 printable characters")],
        )
    device = {"device_id": device_id, "app_version": request.headers.get(APP_VERSION_HEADER)}
    return validate(sync_api.Device, device).model_dump()


class SyncRoutes:
    """Mixed into the gateway service; ``self.sync`` is the RPC client."""

    sync: Any
    auth: Any

    @route(
        "GET",
        f"{V1}/sync/pull",
        summary="Pull: what changed in your phone's scope since `last_pulled_at`",
        tag="sync",
        query=sync_api.PullQuery,
        response=sync_api.PullOut,
        headers=_DEVICE_HEADERS,
        required_headers=(DEVICE_HEADER,),
        extra={"description": _PROTOCOL},
    )
    def sync_pull(self, request: Request) -> Response:
        self.auth.caller()
        device = _device(request)
        query = read_query(request, sync_api.PullQuery)
        answer = self.sync.pull(device, query.model_dump(mode="json", by_alias=True))
        # The body is JSON text already: sent as it is, never parsed again.
        return Response(answer["body"], mimetype="application/json", headers={"Cache-Control": "no-store"})

    @route(
        "POST",
        f"{V1}/sync/push",
        summary="Push: your phone's changes, applied as on the web; a conflict refuses them all",
        tag="sync",
        query=sync_api.PushQuery,
        body=sync_api.PushBody,
        response=sync_api.PushOut,
        headers=_DEVICE_HEADERS,
        required_headers=(DEVICE_HEADER,),
        errors=(409,),
        max_body_bytes=_push_max_bytes,
        extra={
            "description": "409 (`sync-conflict`): a record you pushed changed on the server after "
            "`last_pulled_at`; nothing was applied: pull, then push again. A change you may not "
            "make is refused alone (`rejected`, `alerts`) and undone on the phone at the next pull."
        },
    )
    def sync_push(self, request: Request) -> Response:
        self.auth.caller()
        device = _device(request)
        query = read_query(request, sync_api.PushQuery)
        data = read_json(request)
        # WatermelonDB's own example posts the bare changes object: a body without "changes" is one.
        if isinstance(data, dict) and "changes" not in data:
            data = {"changes": data}
        body = validate(sync_api.PushBody, data)
        last_pulled_at = body.last_pulled_at if body.last_pulled_at is not None else query.last_pulled_at
        plain = {"changes": body.as_plain(), "last_pulled_at": last_pulled_at}
        return json_response(self.sync.push(device, plain))

    @route(
        "GET",
        f"{V1}/sync/alerts",
        summary="Your sync alerts: changes your phones pushed that were refused, newest first",
        tag="sync",
        query=sync_api.AlertQuery,
        response=sync_api.AlertList,
    )
    def sync_alerts(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, sync_api.AlertQuery)
        return json_response(self.sync.list_alerts(query.model_dump(mode="json")))

    @route(
        "POST",
        f"{V1}/sync/alerts/<string:alert_id>/read",
        summary="Mark one of your sync alerts read",
        tag="sync",
        response=sync_api.AlertOut,
        errors=(404,),
        body_required=False,
    )
    def sync_alert_read(self, request: Request, alert_id: str) -> Response:
        self.auth.caller()
        return json_response(self.sync.mark_alert_read(alert_id))

    @route(
        "GET",
        f"{V1}/sync/devices",
        summary="Admin: the organisation's phones, failing ones first",
        tag="sync",
        admin=True,
        response=sync_api.DeviceList,
        errors=(403,),
    )
    def sync_devices(self, request: Request) -> Response:
        self.auth.caller().require_admin()
        return json_response(self.sync.list_devices())
