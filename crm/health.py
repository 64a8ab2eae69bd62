"""What every service shares: the ``ping`` RPC the gateway's ``/readyz`` calls, and the
measurement of its RPC and event entrypoints (``crm.metrics.entrypoints``)."""

from crm.metrics.entrypoints import EntrypointMetrics
from crm.rpc import rpc


class Pingable:
    name: str

    # Every service class inherits it: nameko finds dependency providers on base classes too.
    entrypoint_metrics = EntrypointMetrics()

    @rpc
    def ping(self) -> dict[str, str]:
        """Answer at once: ``ok`` proves the service consumes its queue and can admit callers
        (it knows which accesses were revoked); any other status says why not."""
        caller = getattr(self, "caller", None)
        if caller is not None and not caller.ready:
            return {"service": self.name, "status": "does not know yet which accesses were revoked"}
        return {"service": self.name, "status": "ok"}
