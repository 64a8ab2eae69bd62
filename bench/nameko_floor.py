"""The floor: the least a request costs through our nameko HTTP and RPC entrypoints.

A gateway route (the same ``ApiRoute``, ``RpcClient`` and ``FastRpc`` as the
real gateway and services) that makes one RPC to a service which answers at
once: no token, no database, no validation. What ``GET /api/v1/me`` costs above
this floor is the work of our code; what the floor costs above the kombu echo
is the framework's.

``python -m bench.nameko_floor service`` and ``python -m bench.nameko_floor
gateway PORT`` run the two halves as two processes, as `crm run` runs services.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import eventlet

FLOOR_PATH = "/floor"


def _service_classes() -> tuple[type, type]:
    from werkzeug.wrappers import Request, Response

    from crm.rpc import RpcClient, rpc
    from services.gateway.http import json_response, route

    class FloorService:
        name = "bench_floor"

        @rpc
        def echo(self, payload: dict[str, Any]) -> dict[str, Any]:
            """Answers with what it was sent."""
            return payload

    class FloorGateway:
        name = "bench_floor_gateway"

        floor = RpcClient("bench_floor")

        @route("GET", FLOOR_PATH)
        def get_floor(self, request: Request) -> Response:
            return json_response(self.floor.echo({"user": "me"}))

    return FloorService, FloorGateway


def serve(role: str, port: int | None) -> None:
    from nameko.runners import ServiceRunner

    from cli.main import quiet_collector
    from crm.settings import load_settings

    settings = load_settings(os.environ.get("CRM_CONFIG"))
    config = settings.nameko_config()
    if port is not None:
        config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{port}"
    service, gateway = _service_classes()
    runner = ServiceRunner(config)
    runner.add_service(gateway if role == "gateway" else service)
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn_n(runner.stop))
    runner.start()
    quiet_collector()
    print("ready", flush=True)
    runner.wait()


if __name__ == "__main__":
    eventlet.monkey_patch()
    serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
