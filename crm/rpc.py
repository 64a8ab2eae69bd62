"""RPC over nameko's wire format, tuned for request/reply latency.

nameko's stock RPC builds a publisher (and looks up a pooled connection) per
message and waits for a broker confirm on every request and every reply. Here
each process keeps one publishing connection and sends requests and replies
without confirms; the caller's deadline (``RpcClient``) is what detects a lost
message or a missing service. Events never take this path: they go through
the outbox relay, with confirms.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
import uuid
from typing import Any

import amqp
import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from kombu import Connection, Consumer, Queue
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import IncorrectSignature, UnserializableValueError, deserialize, serialize
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from crm.errors import CrmError, ServiceUnavailable
from crm.metrics import FAILURE, OK, TIMEOUT, CallSeries, outcome_of

log = logging.getLogger(__name__)


class SharedPublisher:
    """One publishing connection per process and broker, serialised by a lock."""

    _instances: dict[str, SharedPublisher] = {}

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._lock = Semaphore()
        self._connection: Connection | None = None
        self._channel: Any = None

    @classmethod
    def for_uri(cls, amqp_uri: str) -> SharedPublisher:
        if amqp_uri not in cls._instances:
            cls._instances[amqp_uri] = cls(amqp_uri)
        return cls._instances[amqp_uri]

    def publish(
        self,
        body: str,
        *,
        exchange: Any,
        routing_key: str,
        correlation_id: str | None = None,
        reply_to: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish a JSON ``body``; one reconnection is tried if the broker went away.

        This is the hot path of every RPC, so it talks to the AMQP channel
        directly rather than through kombu's Producer.
        """
        properties: dict[str, Any] = {"content_type": "application/json", "content_encoding": "utf-8"}
        if correlation_id is not None:
            properties["correlation_id"] = correlation_id
        if reply_to is not None:
            properties["reply_to"] = reply_to
        if headers:
            properties["application_headers"] = headers
        message = amqp.Message(body, **properties)
        exchange_name = getattr(exchange, "name", exchange)
        with self._lock:
            for attempt in range(2):
                try:
                    if self._channel is None:
                        self._connect(exchange)
                    self._channel.basic_publish(message, exchange=exchange_name, routing_key=routing_key)
                    return
                except Exception:
                    self._reset()
                    if attempt:
                        raise

    def _connect(self, exchange: Any) -> None:
        connection = Connection(self.amqp_uri, connect_timeout=5)
        connection.ensure_connection(max_retries=1)
        channel = connection.default_channel
        if hasattr(exchange, "declare"):
            exchange(channel).declare()
        self._connection, self._channel = connection, channel

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already broken
                pass


class CachedSignatureCheck:
    """nameko checks call arguments with ``inspect.getcallargs`` on every call;
    binding against a signature computed once gives the same answer, cheaply."""

    _signature: inspect.Signature | None = None

    def check_signature(self, args: tuple, kwargs: dict) -> None:
        if self._signature is None:
            self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name))
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None


class FastRpcConsumer(RpcConsumer):
    """Replies through the shared publisher, without a confirm per reply."""

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        error = serialize(exc_info[1]) if exc_info is not None else None
        try:
            body = json.dumps({"result": result, "error": error})
        except (TypeError, ValueError):
            exc_info = sys.exc_info()
            body = json.dumps({"result": None, "error": serialize(UnserializableValueError(result))})
            result = None
        SharedPublisher.for_uri(self.container.config[AMQP_URI_CONFIG_KEY]).publish(
            body,
            exchange=get_rpc_exchange(self.container.config),
            routing_key=message.properties["reply_to"],
            correlation_id=message.properties.get("correlation_id"),
        )
        self.queue_consumer.ack_message(message)
        return result, exc_info


class FastRpc(CachedSignatureCheck, Rpc):
    rpc_consumer = FastRpcConsumer()

    def __init__(self, expected_exceptions: Any = CrmError, sensitive_arguments: Any = (), **kwargs: Any):
        # A CrmError is an answer to the caller: a 4xx is logged as one line (crm.logs).
        super().__init__(
            expected_exceptions=expected_exceptions, sensitive_arguments=sensitive_arguments, **kwargs
        )


rpc = FastRpc.decorator


class FastReplyListener(SharedExtension):
    """Receives RPC replies on an exclusive queue, without acks.

    A reply whose caller already gave up is dropped; the queue dies with the
    process, so nothing is left behind.
    """

    def __init__(self) -> None:
        super().__init__()
        self.routing_key = uuid.uuid4().hex
        self._pending: dict[str, Event] = {}
        self._ready = Event()
        self._thread: Any = None

    def start(self) -> None:
        self._thread = eventlet.spawn(self._consume_forever)
        with eventlet.Timeout(10, ServiceUnavailable("cannot listen for RPC replies")):
            self._ready.wait()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    kill = stop

    def expect(self, correlation_id: str) -> Event:
        event = Event()
        self._pending[correlation_id] = event
        return event

    def forget(self, correlation_id: str) -> None:
        self._pending.pop(correlation_id, None)

    def _on_reply(self, body: Any, message: Any) -> None:
        event = self._pending.pop(message.properties.get("correlation_id"), None)
        if event is not None:
            event.send(body)

    def _consume_forever(self) -> None:
        config = self.container.config
        queue = Queue(
            f"rpc.reply-{self.container.service_name}-{self.routing_key}",
            exchange=get_rpc_exchange(config),
            routing_key=self.routing_key,
            exclusive=True,
            auto_delete=True,
        )
        while True:
            try:
                with Connection(config[AMQP_URI_CONFIG_KEY], heartbeat=60) as connection:
                    with Consumer(connection, [queue], callbacks=[self._on_reply], no_ack=True):
                        if not self._ready.ready():
                            self._ready.send(True)
                        drain_forever(connection)
            except Exception as exc:  # broker restart: reconnect, callers time out
                log.warning("RPC reply listener lost the broker, reconnecting: %s", exc)
                eventlet.sleep(1)


def drain_forever(connection: Connection) -> None:
    """Deliver what arrives on ``connection``'s consumers until the connection fails.

    Heartbeats go out whether or not messages keep coming: a consumer that only
    receives looks dead to the broker after its heartbeat interval otherwise.
    """
    while True:
        try:
            connection.drain_events(timeout=5)
        except TimeoutError:
            pass
        connection.heartbeat_check()


class ServiceClient:
    """``client.get_me()`` sends a request and waits at most ``timeout`` seconds."""

    def __init__(self, provider: RpcClient, worker_ctx: Any):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def __getattr__(self, method_name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._provider.call(self._worker_ctx, method_name, args, kwargs)

        return call


class RpcClient(DependencyProvider):
    """Calls one service; a late or missing service is ``ServiceUnavailable``."""

    reply_listener = FastReplyListener()

    def __init__(self, target_service: str):
        self.target_service = target_service

    def setup(self) -> None:
        config = self.container.config
        self.timeout = config["CRM"].gateway.rpc_timeout_seconds
        self.exchange = get_rpc_exchange(config)
        self.publisher = SharedPublisher.for_uri(config[AMQP_URI_CONFIG_KEY])
        self.measured = CallSeries(self.container.service_name, self.target_service)

    def call(self, worker_ctx: Any, method_name: str, args: tuple, kwargs: dict) -> Any:
        started = time.perf_counter()
        outcome = FAILURE
        try:
            correlation_id = uuid.uuid4().hex
            reply_event = self.reply_listener.expect(correlation_id)
            headers = {
                f"nameko.{key}": value for key, value in worker_ctx.context_data.items() if value is not None
            }
            headers["nameko.call_id_stack"] = worker_ctx.call_id_stack
            try:
                self.publisher.publish(
                    json.dumps({"args": args, "kwargs": kwargs}),
                    exchange=self.exchange,
                    routing_key=f"{self.target_service}.{method_name}",
                    reply_to=self.reply_listener.routing_key,
                    correlation_id=correlation_id,
                    headers=headers,
                )
            except Exception as exc:
                self.reply_listener.forget(correlation_id)
                log.error("cannot send a request to %s: %s", self.target_service, exc)
                raise ServiceUnavailable("the message bus is unreachable; try again shortly") from None
            try:
                with eventlet.Timeout(self.timeout):
                    body = reply_event.wait()
            except eventlet.Timeout:
                self.reply_listener.forget(correlation_id)
                outcome = TIMEOUT
                raise ServiceUnavailable(
                    f"the {self.target_service} service did not answer within {self.timeout:g} s"
                ) from None
            if body.get("error"):
                error = deserialize(body["error"])
                outcome = outcome_of(error)
                raise error
            outcome = OK
            return body["result"]
        finally:
            self.measured.observe(method_name, outcome, time.perf_counter() - started)

    def get_dependency(self, worker_ctx: Any) -> ServiceClient:
        return ServiceClient(self, worker_ctx)
