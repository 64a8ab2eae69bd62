"""The ``ping`` RPC every service answers, used by the gateway's ``/readyz``."""

from crm.rpc import rpc


class Pingable:
    name: str

    @rpc
    def ping(self) -> dict[str, str]:
        """Answer at once: ``ok`` proves the service consumes its queue and can admit callers
        (it knows which accesses were revoked); any other status says why not."""
        caller = getattr(self, "caller", None)
        if caller is not None and not caller.ready:
            return {"service": self.name, "status": "does not know yet which accesses were revoked"}
        return {"service": self.name, "status": "ok"}
